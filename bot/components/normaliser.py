"""Rasa component that normalises Chinese text before the JiebaTokenizer.

The message text is replaced by its normalised form (see :mod:`bot.nlu.normalise`); the original
is kept in the parse result as ``original_text``, and ``script`` says whether the writer used
Traditional characters (the dialogue answers in the writer's script). Entity annotations of
training examples are moved onto the normalised text so they still line up with the tokens.
"""
from __future__ import annotations

import logging
from typing import Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_END, ENTITY_ATTRIBUTE_START
from rasa.shared.nlu.constants import ENTITY_ATTRIBUTE_VALUE, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.base import MessageProcessor
from bot.nlu.normalise import normalise

logger = logging.getLogger(__name__)

ORIGINAL_TEXT = "original_text"
SCRIPT = "script"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False
)
class ChineseTextNormaliser(MessageProcessor):
    """Traditional → Simplified, full-width → half-width, fillers, numerals."""

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        for message in training_data.training_examples:
            self._normalise(message, training=True)
        return training_data

    def process_message(self, message: Message) -> None:
        self._normalise(message, training=False)

    @staticmethod
    def _normalise(message: Message, training: bool) -> None:
        text: Optional[str] = message.get(TEXT)
        if not text:
            return
        result = normalise(text)
        if result.text == text and not training:
            message.set(ORIGINAL_TEXT, text, add_to_output=True)
            message.set(SCRIPT, "simplified", add_to_output=True)
            return
        entities = message.get(ENTITIES) or []
        moved = []
        for entity in entities:
            start, end = result.map_span(entity[ENTITY_ATTRIBUTE_START], entity[ENTITY_ATTRIBUTE_END])
            if start >= end:
                logger.warning("entity %r vanished in normalisation of %r", entity, text)
                continue
            original_span = text[entity[ENTITY_ATTRIBUTE_START]:entity[ENTITY_ATTRIBUTE_END]]
            new = dict(entity, start=start, end=end)
            # a synonym-mapped value ([幸福小區](location:幸福小区)) keeps its value
            if entity.get(ENTITY_ATTRIBUTE_VALUE) == original_span:
                new[ENTITY_ATTRIBUTE_VALUE] = result.text[start:end]
            moved.append(new)
        message.set(TEXT, result.text)
        if entities:
            message.set(ENTITIES, moved)
        if not training:
            message.set(ORIGINAL_TEXT, text, add_to_output=True)
            message.set(
                SCRIPT, "traditional" if result.is_traditional else "simplified", add_to_output=True
            )
