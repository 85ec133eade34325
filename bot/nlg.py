"""The bot's replies in the resident's script.

Rasa renders every response (rules' ``utter_*`` and the custom actions' ``response=…`` alike)
through this generator (bot/endpoints.yml: ``nlg: type: bot.nlg.ScriptAwareNLG``). It is Rasa's
templated generator — responses come from the domain — plus one output step: when the resident
writes Traditional throughout, the text and the button titles are converted with OpenCC s2t.

"Throughout" means: at least one of the resident's messages is Traditional and none is
Simplified. A message is Traditional when converting it to Simplified changes it, Simplified when
converting it to Traditional changes it; messages the same in both scripts (numbers, "你好",
button payloads) do not count either way. Mixed or Simplified writers get Simplified replies.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Iterable, Optional, Text

import opencc
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

TRADITIONAL = "traditional"
SIMPLIFIED = "simplified"


@lru_cache(maxsize=None)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


def to_traditional(text: str) -> str:
    return _converter("s2t").convert(text)


def message_script(text: str) -> Optional[str]:
    """'traditional', 'simplified', or None when the text reads the same in both."""
    if not text or text.startswith("/"):
        return None
    if _converter("t2s").convert(text) != text:
        return TRADITIONAL
    if _converter("s2t").convert(text) != text:
        return SIMPLIFIED
    return None


def conversation_script(texts: Iterable[str]) -> str:
    seen = {message_script(t) for t in texts} - {None}
    return TRADITIONAL if seen == {TRADITIONAL} else SIMPLIFIED


def _user_texts(tracker: DialogueStateTracker) -> Iterable[str]:
    for event in tracker.applied_events():
        if isinstance(event, UserUttered):
            parse = event.parse_data or {}
            yield str(parse.get("original_text") or event.text or "")


def convert_message(message: Dict[Text, Any]) -> Dict[Text, Any]:
    out = dict(message)
    if isinstance(out.get("text"), str):
        out["text"] = to_traditional(out["text"])
    buttons = out.get("buttons")
    if isinstance(buttons, list):
        out["buttons"] = [
            {**b, "title": to_traditional(b["title"])} if isinstance(b, dict) and isinstance(b.get("title"), str) else b
            for b in buttons
        ]
    return out


class ScriptAwareNLG(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None,
                 **_: Any) -> None:
        super().__init__((domain or Domain.empty()).responses)

    async def generate(self, utter_action: Text, tracker: DialogueStateTracker, output_channel: Text,
                       **kwargs: Any) -> Optional[Dict[Text, Any]]:
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message and conversation_script(_user_texts(tracker)) == TRADITIONAL:
            return convert_message(message)
        return message
