"""What the Twilio voice and SMS channels share: request signature validation, TwiML responses,
caller numbers, and reading the conversation's tracker.

Twilio signs every webhook request: ``X-Twilio-Signature`` = base64(HMAC-SHA1(auth token, full
URL + sorted POST parameters)). The URL must be the one Twilio requested. Behind a reverse proxy
or tunnel the server sees its own scheme and host, so with ``PUBLIC_BASE_URL`` set (e.g.
``https://bot.example.org``) the URL is rebuilt as that base + the request path + query string;
without it the request's own URL is used. A request without a valid signature — or any request
while ``TWILIO_AUTH_TOKEN`` is unset — is refused with 403 before anything else happens.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from channels.common import public_url, tracker_events  # noqa: F401 - re-exported

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
TWIML_CONTENT_TYPE = "application/xml; charset=utf-8"

# Caller IDs Twilio (and carriers) use when the number is withheld.
WITHHELD_CALLER_IDS = {
    "", "anonymous", "restricted", "unknown", "unavailable", "private", "blocked",
    "+266696687", "266696687", "+7378742833", "+2562533", "+8656696", "+86282452253",
}


class _Params:
    """Form parameters as RequestValidator wants them (all values of a repeated name)."""

    def __init__(self, data: Mapping[str, Sequence[str]]):
        self.data = data

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.data)

    def getall(self, name: str) -> List[str]:
        return list(self.data[name])


def form_params(request: Request) -> Dict[str, List[str]]:
    """POST parameters (application/x-www-form-urlencoded) as name → list of values."""
    form = request.form or {}
    return {name: list(form.getlist(name)) for name in form}


def first(params: Mapping[str, List[str]], name: str, default: str = "") -> str:
    values = params.get(name) or []
    return values[0] if values else default


class SignatureCheck:
    def __init__(self, auth_token: Optional[str], public_base_url: Optional[str]):
        self.validator = RequestValidator(auth_token) if auth_token else None
        self.public_base_url = public_base_url

    def url_of(self, request: Request) -> str:
        rebuilt = public_url(self.public_base_url, request.path, request.query_string)
        return rebuilt or request.url

    def valid(self, request: Request) -> bool:
        if self.validator is None:
            return False
        signature = request.headers.get(SIGNATURE_HEADER)
        if not signature:
            return False
        try:
            params = form_params(request)
        except Exception:
            return False
        return bool(self.validator.validate(self.url_of(request), _Params(params), signature))


def forbidden() -> HTTPResponse:
    return response.text("forbidden", status=403)


def twiml(xml: Any) -> HTTPResponse:
    return response.text(str(xml), content_type=TWIML_CONTENT_TYPE)


_E164 = re.compile(r"^\+?\d{5,15}$")


def caller_number(raw: Optional[str]) -> Optional[str]:
    """The caller's number if it is a real one (E.164), None if withheld or not a number."""
    value = (raw or "").strip()
    if value.lower() in WITHHELD_CALLER_IDS or value in WITHHELD_CALLER_IDS:
        return None
    if not _E164.match(value):
        return None
    return value if value.startswith("+") else "+" + value


def latest_intent(events: Sequence[Mapping[str, Any]]) -> Optional[str]:
    for event in reversed(events):
        if event.get("event") == "user":
            return ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return None


def slot_value(events: Sequence[Mapping[str, Any]], name: str) -> Any:
    value = None
    for event in events:
        if event.get("event") == "slot" and event.get("name") == name:
            value = event.get("value")
        elif event.get("event") in ("restart", "session_started"):
            value = None
    return value
