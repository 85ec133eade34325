"""Rasa component that keeps one entity per span when several extractors found it.

The CRF learns `phone` and `ticket_number` from the annotated examples that the
RegexEntityExtractor needs, so both report the same span. Of overlapping entities of one type the
regex's is kept (it is exact), otherwise the longer span.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from bot.components.base import MessageProcessor

REGEX_EXTRACTOR = "RegexEntityExtractor"


def _rank(entity: Dict[str, Any]) -> tuple:
    return (entity.get("extractor") == REGEX_EXTRACTOR, entity["end"] - entity["start"])


def merge_entities(entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Overlapping entities of the same type collapse to the best one; order by position."""
    kept: List[Dict[str, Any]] = []
    for entity in sorted(entities, key=_rank, reverse=True):
        overlaps = any(
            other["entity"] == entity["entity"]
            and other["start"] < entity["end"]
            and entity["start"] < other["end"]
            for other in kept
        )
        if not overlaps:
            kept.append(entity)
    return sorted(kept, key=lambda e: (e["start"], e["end"]))


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class EntityMerger(MessageProcessor):
    """Removes duplicate entities reported by more than one extractor."""

    def process_message(self, message: Message) -> None:
        entities = message.get(ENTITIES)
        if entities:
            message.set(ENTITIES, merge_entities(entities), add_to_output=True)
