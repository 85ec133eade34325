"""Rasa component that makes a message an emergency when it contains an emergency phrase.

The classifier misses some emergencies (short, unusual wording). A missed fire or attack costs far
more than an unneeded 110/119/120 reminder, so phrases listed in bot/emergency_patterns.yml set the
intent to `emergency` (confidence 1.0, with the matched phrase as `emergency_rule`), keeping the
classifier's ranking behind it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Optional

import yaml
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.components.base import MessageProcessor

PATTERNS_PATH = Path(__file__).resolve().parent.parent / "emergency_patterns.yml"
EMERGENCY = "emergency"


@lru_cache(maxsize=1)
def _pattern(path: Path = PATTERNS_PATH) -> re.Pattern:
    patterns = yaml.safe_load(path.read_text(encoding="utf-8"))["patterns"]
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def emergency_phrase(text: str) -> Optional[str]:
    """The emergency phrase in a normalised text, or None."""
    match = _pattern().search(text or "")
    return match.group(0) if match else None


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class EmergencyDetector(MessageProcessor):
    """Overrides the intent with `emergency` when an emergency phrase is present."""

    def process_message(self, message: Message) -> None:
        phrase = emergency_phrase(message.get(TEXT))
        if phrase is None:
            return
        intent = {"name": EMERGENCY, "confidence": 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != EMERGENCY]
        message.set(INTENT, intent, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)
        message.set("emergency_rule", phrase, add_to_output=True)
