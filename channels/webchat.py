"""A small web chat page served by the rasa server itself.

    GET  /webhooks/webchat/                 the page (Chinese, works on a phone screen)
    GET  /webhooks/webchat/static/<file>    its script and style sheet
    POST /webhooks/webchat/webhook          {"sender": "<id>", "message": "…", "location": {…}?}
                                            → [{"text", "buttons", "image", "attachment", "custom"}]

The page keeps a random conversation id in the browser (localStorage); the conversation's sender
id and channel identity are ``web:<id>``. The bot's buttons are shown as choices; choosing one
sends its payload and shows its title. "发送位置" shares the browser's location the same way the
Telegram channel does (``/inform`` + ``metadata.location``).
"""
from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from channels import logsafe
from channels.common import (
    META_CHANNEL, META_IDENTITY, META_LOCATION, guard_payload, int_setting, offered_payloads, text,
    tracker_events,
)
from channels.geo import nearest_district

logger = logging.getLogger(__name__)

CHANNEL = "web"
NAME = "webchat"
STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = {"webchat.js": "application/javascript; charset=utf-8",
                "webchat.css": "text/css; charset=utf-8"}
SENDER = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
LOCATION_PAYLOAD = "/inform"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
                               "script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


class WebchatCollector(CollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return NAME


class WebchatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "WebchatInput":
        return cls(max_chars=int_setting(credentials, "max_chars", "WEBCHAT_MAX_CHARS", 2000))

    def __init__(self, max_chars: int = 2000):
        logsafe.install()
        self.max_chars = max_chars

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("petition_webchat", __name__)

        @bp.route("/", methods=["GET"])
        async def page(request: Request) -> HTTPResponse:
            if not request.path.endswith("/"):  # the page's relative URLs need the slash
                return response.redirect(request.path + "/")
            html = (STATIC_DIR / "webchat.html").read_text(encoding="utf-8")
            return response.html(html, headers=SECURITY_HEADERS)

        @bp.route("/static/<name>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                return response.text("not found", status=404)
            body = (STATIC_DIR / name).read_text(encoding="utf-8")
            return response.text(body, content_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                data = json.loads(request.body or b"{}")
            except ValueError:
                return response.json({"error": "bad json"}, status=400)
            if not isinstance(data, dict):
                return response.json({"error": "bad json"}, status=400)
            sender = str(data.get("sender") or "")
            if not SENDER.match(sender):
                return response.json({"error": "sender must be 8–64 letters, digits, - or _"}, status=400)
            message = data.get("message")
            meta: Dict[str, Any] = {META_CHANNEL: CHANNEL, META_IDENTITY: f"{CHANNEL}:{sender}"}
            location = data.get("location")
            if isinstance(location, dict):
                try:
                    lat, lon = float(location["latitude"]), float(location["longitude"])
                except (KeyError, TypeError, ValueError):
                    return response.json({"error": "bad location"}, status=400)
                info: Dict[str, Any] = {"latitude": lat, "longitude": lon, "source": "browser",
                                        "accuracy_m": location.get("accuracy")}
                district = nearest_district(lat, lon)
                if district is not None:
                    info["division"] = district.as_dict()
                meta[META_LOCATION] = info
                place = district.district if district is not None else None
                message = LOCATION_PAYLOAD + (json.dumps({"location": place}, ensure_ascii=False) if place else "")
            if not isinstance(message, str) or not message.strip():
                return response.json({"error": "message must be a non-empty string"}, status=400)
            if len(message) > self.max_chars:
                return response.json({"error": f"message longer than {self.max_chars} characters"}, status=413)
            if not isinstance(location, dict):  # a choice's payload only if the bot offered it
                events = await tracker_events(request, f"{CHANNEL}:{sender}")
                message = guard_payload(message, offered_payloads(events))
                if not message.strip():
                    return response.json({"error": "message must be a non-empty string"}, status=400)
            collector = WebchatCollector()
            try:
                await on_new_message(UserMessage(message, collector, f"{CHANNEL}:{sender}",
                                                 input_channel=NAME, metadata=meta))
            except Exception:
                logger.exception("webchat: message handling failed")
                return response.json([{"text": text("webchat", "error")}], status=500)
            return response.json([_public(m) for m in collector.messages])

        return bp


def _public(message: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in message.items() if k != "recipient_id"}
