"""Reporters: identity kept apart from the ticket text, and the check that a follow-up really
comes from the reporter (same channel identity, or ticket number + last 4 digits of the phone)."""
from __future__ import annotations

import hmac
import re
from typing import Optional

import phonenumbers

from routing.models import Reporter, Ticket

PHONE_TAIL_DIGITS = 4
_IDENTITY = re.compile(r"^[a-z][a-z0-9_-]{1,31}:[^\s]{1,160}$")


def normalise_phone(raw: Optional[str]) -> Optional[str]:
    """E.164 (+8613800138000) for a valid number, else the digits as given; None for empty."""
    if raw is None or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, "CN")
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"[^\d+]", "", raw)
    return digits or None


def valid_identity(identity: str) -> bool:
    """`channel:id`, e.g. telegram:12345 or sms:+8613800138000."""
    return bool(_IDENTITY.match(identity))


def phone_tail(phone: Optional[str]) -> Optional[str]:
    digits = re.sub(r"\D", "", phone or "")
    return digits[-PHONE_TAIL_DIGITS:] if len(digits) >= PHONE_TAIL_DIGITS else None


def is_reporter(ticket: Ticket, channel_identity: Optional[str] = None, tail: Optional[str] = None) -> bool:
    reporter: Optional[Reporter] = ticket.reporter
    if reporter is None:
        return False
    if channel_identity and reporter.channel_identity:
        if hmac.compare_digest(channel_identity.strip(), reporter.channel_identity):
            return True
    if tail:
        digits = re.sub(r"\D", "", tail)
        expected = phone_tail(reporter.phone)
        if expected and len(digits) == PHONE_TAIL_DIGITS and hmac.compare_digest(digits, expected):
            return True
    return False
