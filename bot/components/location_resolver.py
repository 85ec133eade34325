"""Rasa component that resolves extracted `location` entities to administrative divisions.

Runs after the entity extractors. Each `location` entity gets a ``division`` (adcode, province,
city, district) when its text — or, failing that, the whole message — names one; the message
gets ``location_resolution`` with the finest division found, which the actions pass on to the
routing backend.
"""
from __future__ import annotations

from typing import Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, ENTITY_ATTRIBUTE_VALUE, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.base import MessageProcessor
from bot.nlu.locations import Division, resolve_division

LOCATION = "location"
LOCATION_RESOLUTION = "location_resolution"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LocationResolver(MessageProcessor):
    """Attaches administrative-division codes to `location` entities."""

    def process_message(self, message: Message) -> None:
        entities = message.get(ENTITIES) or []
        best: Optional[Division] = None
        for entity in entities:
            if entity.get(ENTITY_ATTRIBUTE_TYPE) != LOCATION:
                continue
            division = resolve_division(str(entity.get(ENTITY_ATTRIBUTE_VALUE, "")))
            if division is not None:
                entity["division"] = division.as_dict()
                if best is None or len(division.adcode.rstrip("0")) > len(best.adcode.rstrip("0")):
                    best = division
        if best is None and message.get(TEXT):
            best = resolve_division(message.get(TEXT))
        message.set(ENTITIES, entities, add_to_output=True)
        message.set(
            LOCATION_RESOLUTION, best.as_dict() if best else None, add_to_output=True
        )
