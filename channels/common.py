"""Helpers shared by the channels: settings from credentials or the environment, the channels'
own texts (channels/data/texts.yml), the metadata contract with the actions, public URLs behind
proxies, and what the last bot message offered as choices.

Importing this module does not import rasa (the routing backend uses the SMS helpers).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import yaml

DATA_DIR = Path(__file__).with_name("data")
TEXTS_PATH = DATA_DIR / "texts.yml"
DEFAULT_HOTLINE = "12345"

# Metadata keys the channels put on every user message (tracker: latest_message.metadata).
META_CHANNEL = "channel"                    # telegram | voice | sms | web
META_IDENTITY = "channel_identity"          # telegram:<chat id>, sms:+86…, voice:+86…, web:<id>
META_PHONE = "phone"                        # E.164 caller / sender number (absent if withheld)
META_LOCATION = "location"                  # {latitude, longitude, …, division}
META_ATTACHMENTS = "attachments"            # [{source, kind, file_id | url, size, …}]

AFFIRM_PAYLOADS = ("/affirm",)
DENY_PAYLOADS = ("/deny",)


class ChannelConfigError(RuntimeError):
    """A channel is registered with an unusable configuration."""


# --------------------------------------------------------------------------- settings
def setting(credentials: Optional[Mapping[str, Any]], key: str, env: str,
            default: Optional[str] = None) -> Optional[str]:
    """`credentials[key]` if given and not empty, else the environment variable, else default.

    bot/credentials.yml registers the channels without secrets, so they come from the
    environment; a deployment may also write ``key: ${VAR}`` in its own credentials file.
    """
    value = (credentials or {}).get(key)
    if value is not None and str(value).strip() != "":
        return str(value).strip()
    value = os.environ.get(env)
    if value is not None and value.strip() != "":
        return value.strip()
    return default


def int_setting(credentials: Optional[Mapping[str, Any]], key: str, env: str, default: int) -> int:
    raw = setting(credentials, key, env)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ChannelConfigError(f"{env} / {key} must be an integer, got {raw!r}") from None


def float_setting(credentials: Optional[Mapping[str, Any]], key: str, env: str, default: float) -> float:
    raw = setting(credentials, key, env)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ChannelConfigError(f"{env} / {key} must be a number, got {raw!r}") from None


def bool_setting(credentials: Optional[Mapping[str, Any]], key: str, env: str, default: bool) -> bool:
    raw = setting(credentials, key, env)
    if raw is None:
        return default
    return raw.lower() in ("1", "true", "yes", "on")


def hotline() -> str:
    return os.environ.get("HOTLINE_NUMBER", "").strip() or DEFAULT_HOTLINE


# --------------------------------------------------------------------------- texts
@lru_cache(maxsize=1)
def _texts() -> Dict[str, Dict[str, str]]:
    data = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8")) or {}
    return {section: dict(values or {}) for section, values in data.items()}


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def text(section: str, key: str, **values: Any) -> str:
    """The text `section.key` of channels/data/texts.yml with its placeholders filled."""
    template = _texts()[section][key]
    return template.format_map(_Defaults(hotline=hotline(), **values))


# --------------------------------------------------------------------------- URLs
def public_url(base_url: Optional[str], path: str, query_string: str = "") -> Optional[str]:
    """The URL the outside world used, rebuilt from the configured public base URL (behind a
    proxy or tunnel the server sees its own host and scheme, but Twilio signs the public one)."""
    if not base_url:
        return None
    url = base_url.rstrip("/") + "/" + path.lstrip("/")
    return url + ("?" + query_string if query_string else "")


def human_size(size: int) -> str:
    """Decimal units, as people read them: 5000000 → 5MB, 1500000 → 1.5MB."""
    for unit, factor in (("MB", 1_000_000), ("KB", 1_000)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f}{unit}" if value == int(value) or value >= 10 else f"{value:.1f}{unit}"
    return f"{size}B"


# --------------------------------------------------------------------------- choices
def button_payload(button: Mapping[str, Any]) -> str:
    return str(button.get("payload") or button.get("title") or "")


def is_yes_no(buttons: Sequence[Mapping[str, Any]]) -> bool:
    """Two buttons, one affirming and one denying (payload /affirm… and /deny…)."""
    if len(buttons) != 2:
        return False
    payloads = [button_payload(b).split("{")[0].strip() for b in buttons]
    return payloads[0] in AFFIRM_PAYLOADS and payloads[1] in DENY_PAYLOADS


def digit_choices(buttons: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """Keypad digit → button: yes/no questions are 1 = yes, 2 = no; other menus are numbered in
    order 1–9 (0 is reserved for the operator)."""
    return {str(i + 1): b for i, b in enumerate(buttons[:9])}


def last_bot_message(events: Iterable[Any]) -> Optional[Dict[str, Any]]:
    """The last bot utterance of a tracker (events as dicts or rasa Event objects), as
    ``{"text": …, "buttons": [...]}``; None if the bot has not spoken."""
    found: Optional[Dict[str, Any]] = None
    for event in events:
        data = event.as_dict() if hasattr(event, "as_dict") else event
        if data.get("event") == "bot":
            found = {"text": data.get("text"), "buttons": (data.get("data") or {}).get("buttons") or []}
    return found


def last_bot_turn(events: Sequence[Any]) -> List[Dict[str, Any]]:
    """The bot utterances after the last user message (what the bot said last, in order)."""
    turn: List[Dict[str, Any]] = []
    for event in events:
        data = event.as_dict() if hasattr(event, "as_dict") else event
        if data.get("event") == "user":
            turn = []
        elif data.get("event") == "bot":
            turn.append({"text": data.get("text"), "buttons": (data.get("data") or {}).get("buttons") or []})
    return turn


def last_turn_choices(events: Sequence[Any]) -> Optional[Dict[str, Any]]:
    """The bot message of its last turn that offered buttons (the menu a keypad digit or an SMS
    digit answers), or None. Later messages of the same turn without buttons do not hide it."""
    for message in reversed(last_bot_turn(events)):
        if message.get("buttons"):
            return message
    return None


_PAYLOAD = re.compile(r"^/[A-Za-z_][\w-]*")


def is_payload(text: Optional[str]) -> bool:
    return bool(text and _PAYLOAD.match(text.strip()))


def offered_payloads(events: Iterable[Any]) -> set:
    """Every button payload the bot has offered in this conversation."""
    offered = set()
    for event in events:
        data = event.as_dict() if hasattr(event, "as_dict") else event
        if data.get("event") == "bot":
            for button in (data.get("data") or {}).get("buttons") or []:
                offered.add(str(button.get("payload") or "").strip())
    return offered


def guard_payload(body: str, offered: set) -> str:
    """What a resident typed, safe to hand to rasa.

    Rasa reads a message starting with ``/`` as an intent with entities, skipping the NLU — a
    resident could type ``/EXTERNAL_ticket_filed{"ticket_number": …}`` and trigger what only the
    system may. A payload is therefore passed on only if the bot offered it as a button in this
    conversation; any other ``/…`` text is read as plain words (the slash removed).
    """
    stripped = body.strip()
    if is_payload(stripped) and stripped not in offered:
        return stripped.lstrip("/").strip()
    return body


# --------------------------------------------------------------------------- the tracker
async def tracker_events(request: Any, sender_id: str) -> List[Dict[str, Any]]:
    """The conversation's events as dicts ([] if it does not exist yet). `request` is the Sanic
    request of a channel handler (the agent is ``request.app.ctx.agent``)."""
    agent = getattr(getattr(getattr(request, "app", None), "ctx", None), "agent", None)
    if agent is None or getattr(agent, "tracker_store", None) is None:
        return []
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return []
    return [e.as_dict() for e in tracker.events]
