"""Who is talking and what they said: channel, identity, phone, transcript, entities, and the
domain's response texts for composing one reply out of several fragments.

Channel metadata contract (channels/common.py): ``metadata.channel`` (telegram | voice | sms |
web), ``metadata.channel_identity`` (``telegram:<chat id>``, ``sms:+86…``), ``metadata.phone``
(E.164, absent if withheld), ``metadata.attachments`` (list of dicts), ``metadata.location``
({latitude, longitude, address, division}). Without metadata (REST channel, rasa shell) the
identity is ``<input channel>:<sender id>`` and the channel ``web``.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from rasa_sdk import Tracker

from actions import settings as settings_module
from routing.catalog import load_catalog

BACKEND_CHANNELS = ("telegram", "sms", "voice", "web", "hotline", "wechat", "open311", "api", "other")
_RASA_TO_BACKEND = {
    "telegram": "telegram", "twilio": "sms", "twilio_sms": "sms", "sms": "sms", "twilio_voice": "voice",
    "voice": "voice", "rest": "web", "socketio": "web", "callback": "web", "cmdline": "web", "web": "web",
    "hotline": "hotline",
}
# input channels (bot/credentials.yml) that set metadata.channel_identity from a verified request
IDENTITY_CHANNELS = frozenset({"telegram", "twilio_voice", "twilio_sms", "webchat"})
_IDENTITY = re.compile(r"^[a-z][a-z0-9_-]{1,31}:[^\s]{1,160}$")
_PHONE = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\+?86 ?1[3-9]\d{9})(?!\d)")
TICKET_NUMBER = re.compile(r"(?<!\d)(20\d{6}-\d{6})(?!\d)")


def latest_metadata(tracker: Tracker) -> Dict[str, Any]:
    """The metadata of the message being handled (attachments, location of this message)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return event.get("metadata") or {}
    return (tracker.latest_message or {}).get("metadata") or {}


def metadata(tracker: Tracker) -> Dict[str, Any]:
    """The latest channel metadata of the conversation (identity, phone, channel)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("metadata"):
            return event["metadata"]
    return (tracker.latest_message or {}).get("metadata") or {}


def input_channel(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "rest"


def backend_channel(tracker: Tracker) -> str:
    meta = metadata(tracker)
    declared = str(meta.get("channel") or "").strip().lower()
    if declared in BACKEND_CHANNELS:
        return declared
    return _RASA_TO_BACKEND.get(input_channel(tracker), "other")


def channel_identity(tracker: Tracker) -> Optional[str]:
    """Who is writing: the proof the backend's reporter and grid-staff endpoints rely on.

    The identity our channels declare (they set it server-side from the verified request) is
    used; one that arrives through another input channel — Rasa's REST channel passes the
    client's metadata as it is — only with ACTIONS_TRUST_REST_METADATA (tests). Otherwise the
    identity is ``<input channel>:<sender id>``, which no client can make look like another
    channel's."""
    meta = metadata(tracker)
    declared = str(meta.get("channel_identity") or "").strip()
    trusted = input_channel(tracker) in IDENTITY_CHANNELS or settings_module.load().trust_rest_metadata
    if declared and trusted and _IDENTITY.match(declared):
        return declared
    prefix = re.sub(r"[^a-z0-9_-]", "", input_channel(tracker).lower())[:32] or "web"
    if len(prefix) < 2 or not prefix[0].isalpha():
        prefix = "web"
    sender = re.sub(r"\s+", "", tracker.sender_id or "")[:160]
    if not sender:
        return None
    identity = f"{prefix}:{sender}"
    return identity if _IDENTITY.match(identity) else None


def channel_phone(tracker: Tracker) -> Optional[str]:
    """The number the channel itself knows (SMS sender, caller ID), if any."""
    phone = str(metadata(tracker).get("phone") or "").strip()
    return phone or None


def find_phone(text: str) -> Optional[str]:
    match = _PHONE.search(text or "")
    return re.sub(r"[\s-]", "", match.group(0)) if match else None


def phone_tail(phone: Optional[str]) -> Optional[str]:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-4:] if len(digits) >= 4 else None


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11:
        return f"{digits[-11:-8]}****{digits[-4:]}"
    return phone


# --------------------------------------------------------------------------- the latest message
def latest_text(tracker: Tracker) -> str:
    """What the resident actually wrote (before normalisation)."""
    msg = tracker.latest_message or {}
    return str(msg.get("original_text") or msg.get("text") or "").strip()


def latest_normalised(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def latest_intent(tracker: Tracker) -> Tuple[Optional[str], float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def is_payload(text: str) -> bool:
    return text.startswith("/")


def entity_values(message: Dict[str, Any], entity: str) -> List[str]:
    out: List[str] = []
    for item in message.get("entities") or []:
        if item.get("entity") == entity:
            value = str(item.get("value") or "").strip()
            if value and value not in out:
                out.append(value)
    return out


def resolution(message: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The finest administrative division the NLU resolved for this message."""
    res = message.get("location_resolution")
    return res if isinstance(res, dict) and res.get("adcode") else None


def ranked_event_types(message: Dict[str, Any], exclude: Iterable[str] = ()) -> List[Tuple[str, float]]:
    catalog = load_catalog()
    skip = set(exclude)
    out = []
    for item in message.get("intent_ranking") or []:
        name = item.get("name")
        if name in catalog and name not in skip:
            out.append((name, float(item.get("confidence") or 0.0)))
    return out


def transcript(tracker: Tracker, user_label: str, bot_label: str, limit: int = 4000) -> str:
    """The whole conversation so far as plain lines, for a human operator."""
    lines: List[str] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            parse = event.get("parse_data") or {}
            text = str(parse.get("original_text") or event.get("text") or "").strip()
            if text:
                lines.append(f"{user_label}：{text}")
        elif kind == "bot" and event.get("text"):
            lines.append(f"{bot_label}：{event['text']}")
    body = "\n".join(lines)
    return body[-limit:] if len(body) > limit else body


# --------------------------------------------------------------------------- domain texts
def text_of(domain: Dict[str, Any], response: str, **values: Any) -> str:
    """The first text variation of a domain response, filled with `values`.

    Used to build one reply out of fragments (the fragments stay in the domain, and the reply is
    still sent as a response, so the Traditional conversion applies to all of it)."""
    variations = (domain.get("responses") or {}).get(response) or []
    for variation in variations:
        text = variation.get("text")
        if text:
            try:
                return text.format(**values)
            except (KeyError, IndexError):
                return text
    return ""


def event_name(code: Optional[str]) -> Optional[str]:
    et = load_catalog().get(code or "")
    return et.name if et else None
