"""Rasa component that resolves extracted `location` entities to administrative divisions.

Runs after the entity extractors. Each `location` entity gets a ``division`` (adcode, province,
city, district) when its text — or, failing that, the whole message — names one; the message
gets ``location_resolution`` with the finest division found, which the actions pass on to the
routing backend.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE, ENTITY_ATTRIBUTE_VALUE, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.locations import Division, resolve_division

LOCATION = "location"
LOCATION_RESOLUTION = "location_resolution"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False
)
class LocationResolver(GraphComponent):
    """Attaches administrative-division codes to `location` entities."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "LocationResolver":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._resolve(message)
        return messages

    @staticmethod
    def _resolve(message: Message) -> None:
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
