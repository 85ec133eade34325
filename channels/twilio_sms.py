"""Text messages through Twilio.

    POST /webhooks/twilio_sms/webhook   the number's "A message comes in" URL
    GET  /webhooks/twilio_sms/          health

The sender id and channel identity are ``sms:<E.164 number>``. Replies go back as TwiML
``<Message>`` elements; a reply longer than ``SMS_MAX_SEGMENTS`` segments is split into several
messages, cut at sentence ends and counted the way the network counts them (UCS-2 for Chinese:
70 characters single, 67 per concatenated segment; GSM-7 for plain Latin text: 160 / 153), see
:mod:`channels.sms_segments`. Buttons become numbered choices ("回复1：…"); a reply of just that
digit sends the button's payload.

Keywords (the whole message, any case): STOP / STOPALL / UNSUBSCRIBE / CANCEL / END / QUIT /
退订 / TD → no more notifications (:mod:`channels.optout`), START / UNSTOP / 订阅 → again,
HELP / INFO / 帮助 → a help text. Keywords never reach the conversation. MMS media become
``metadata.attachments`` (Twilio media URLs).

With ``TWILIO_ACCOUNT_SID`` and ``TWILIO_SMS_FROM`` (or ``TWILIO_MESSAGING_SERVICE_SID``) the
channel can also text outside a reply: rasa's ``trigger_intent`` with ``output_channel=latest``
(the action server announces a ticket number delivered later that way) sends through the Twilio
REST client.

Every request must carry a valid ``X-Twilio-Signature`` (``TWILIO_AUTH_TOKEN``,
``PUBLIC_BASE_URL``); anything else gets 403.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.messaging_response import MessagingResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, OutputChannel, UserMessage

from channels import logsafe
from channels.common import (
    META_ATTACHMENTS,
    META_CHANNEL,
    META_IDENTITY,
    META_PHONE,
    digit_choices,
    guard_payload,
    int_setting,
    last_turn_choices,
    offered_payloads,
    setting,
    text,
)
from channels.optout import OptOutStore
from channels.sms_segments import split_message
from channels.twilio_common import (
    SignatureCheck,
    caller_number,
    first,
    forbidden,
    form_params,
    tracker_events,
    twiml,
)

logger = logging.getLogger(__name__)

CHANNEL = "sms"
NAME = "twilio_sms"
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "退订", "TD", "T"}
START_WORDS = {"START", "UNSTOP", "订阅"}
HELP_WORDS = {"HELP", "INFO", "帮助"}
ATTACHMENT_PAYLOAD = "/inform"
DEFAULT_MAX_SEGMENTS = 3


def keyword(body: str) -> Optional[str]:
    """"stop" / "start" / "help" if the whole message is such a keyword."""
    word = body.strip().strip("。.!！").upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def reply_texts(messages: Sequence[Mapping[str, Any]]) -> List[str]:
    """The bot's messages as SMS text: buttons numbered, images and attachments as links."""
    out: List[str] = []
    for message in messages:
        parts: List[str] = []
        if message.get("text"):
            parts.append(str(message["text"]))
        if message.get("buttons"):
            parts.extend(text("sms", "choice", digit=d, title=b.get("title") or "")
                         for d, b in digit_choices(message["buttons"]).items())
        for key in ("image", "attachment"):
            if isinstance(message.get(key), str):
                parts.append(str(message[key]))
        custom = message.get("custom")
        if isinstance(custom, dict):
            data = custom.get("sms") if isinstance(custom.get("sms"), dict) else custom
            if data.get("text"):
                parts.append(str(data["text"]))
        if parts:
            out.append("\n".join(parts))
    return out


def messaging_twiml(bodies: Sequence[str], max_segments: int) -> str:
    r = MessagingResponse()
    for body in bodies:
        for chunk in split_message(body, max_segments):
            r.message(chunk)
    return str(r)


class SmsCollector(CollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return NAME


class TwilioSmsOutput(OutputChannel):
    """Messages the bot sends outside a reply (rasa's ``trigger_intent`` with
    ``output_channel=latest``, e.g. a ticket number delivered later): sent with the Twilio REST
    client, split like replies, not to numbers that texted STOP."""

    def __init__(self, sender: Any):
        self.sender = sender

    @classmethod
    def name(cls) -> str:
        return NAME

    async def _send(self, recipient_id: str, body: str) -> None:
        identity = recipient_id if recipient_id.startswith(CHANNEL + ":") else f"{CHANNEL}:{recipient_id}"
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, self.sender.send, identity, body)
            if not result.ok:
                logger.warning("twilio sms: message to %s not sent: %s", identity, result.detail)
        except Exception:
            logger.exception("twilio sms: sending to %s failed", identity)

    async def send_response(self, recipient_id: str, message: Dict[str, Any]) -> None:
        for body in reply_texts([message]):
            await self._send(recipient_id, body)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send(recipient_id, text)


class TwilioSmsInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TwilioSmsInput":
        return cls(
            auth_token=setting(credentials, "auth_token", "TWILIO_AUTH_TOKEN"),
            public_base_url=setting(credentials, "public_base_url", "PUBLIC_BASE_URL"),
            max_segments=int_setting(credentials, "max_segments", "SMS_MAX_SEGMENTS", DEFAULT_MAX_SEGMENTS),
            account_sid=setting(credentials, "account_sid", "TWILIO_ACCOUNT_SID"),
            from_number=setting(credentials, "from_number", "TWILIO_SMS_FROM"),
            messaging_service_sid=setting(credentials, "messaging_service_sid", "TWILIO_MESSAGING_SERVICE_SID"),
            api_base_url=setting(credentials, "api_base_url", "TWILIO_API_BASE_URL"),
        )

    def __init__(self, auth_token: Optional[str], public_base_url: Optional[str] = None,
                 max_segments: int = DEFAULT_MAX_SEGMENTS, optout: Optional[OptOutStore] = None,
                 account_sid: Optional[str] = None, from_number: Optional[str] = None,
                 messaging_service_sid: Optional[str] = None, api_base_url: Optional[str] = None):
        logsafe.register_secret(auth_token)
        logsafe.install()
        self.check = SignatureCheck(auth_token, public_base_url)
        self.max_segments = max(1, max_segments)
        self.optout = optout or OptOutStore()
        self.sender: Any = None
        if auth_token and account_sid and (from_number or messaging_service_sid):
            from routing.notifications import TwilioSmsNotifier

            self.sender = TwilioSmsNotifier(account_sid, auth_token, from_number, messaging_service_sid,
                                            api_base_url, max_segments=self.max_segments, optout=self.optout)
        if not auth_token:
            logger.warning("twilio sms channel: TWILIO_AUTH_TOKEN is not set; every request is refused")

    def get_output_channel(self) -> Optional[OutputChannel]:
        return TwilioSmsOutput(self.sender) if self.sender is not None else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("petition_twilio_sms", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": self.check.validator is not None})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.check.valid(request):
                logger.warning("twilio sms: request with a missing or invalid signature refused")
                return forbidden()
            params = form_params(request)
            try:
                bodies = await self.handle(request, params, on_new_message)
            except Exception:
                logger.exception("twilio sms: message handling failed")
                bodies = [text("sms", "error")]
            return twiml(messaging_twiml(bodies, self.max_segments))

        return bp

    async def handle(self, request: Request, params: Mapping[str, List[str]],
                     on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> List[str]:
        phone = caller_number(first(params, "From"))
        if phone is None:
            return []
        body = first(params, "Body").strip()
        word = keyword(body) if body else None
        if word == "stop":
            self.optout.opt_out(phone, body.strip().upper())
            return [text("sms", "stop")]
        if word == "start":
            self.optout.opt_in(phone)
            return [text("sms", "start")]
        if word == "help":
            return [text("sms", "help")]

        sender = f"{CHANNEL}:{phone}"
        meta: Dict[str, Any] = {META_CHANNEL: CHANNEL, META_IDENTITY: sender, META_PHONE: phone,
                                "message_sid": first(params, "MessageSid")}
        media = self._media(params)
        if media:
            meta[META_ATTACHMENTS] = media
        events = await tracker_events(request, sender) if body else []
        body = guard_payload(body, offered_payloads(events))
        if body.isdigit() and len(body) == 1:
            last = last_turn_choices(events)
            if last is not None:
                button = digit_choices(last["buttons"]).get(body)
                if button is None:
                    return [text("sms", "invalid_choice")]
                body = str(button.get("payload") or button.get("title"))
                meta["sms_choice"] = True
        if not body:
            if not media:
                return []
            body = ATTACHMENT_PAYLOAD
        collector = SmsCollector()
        await on_new_message(UserMessage(body, collector, sender, input_channel=NAME, metadata=meta,
                                         message_id=first(params, "MessageSid") or None))
        return reply_texts(collector.messages)

    @staticmethod
    def _media(params: Mapping[str, List[str]]) -> List[Dict[str, Any]]:
        try:
            count = int(first(params, "NumMedia", "0") or 0)
        except ValueError:
            count = 0
        media = []
        for i in range(min(count, 10)):
            url = first(params, f"MediaUrl{i}")
            if url:
                media.append({"source": "twilio", "kind": "mms", "url": url,
                              "mime_type": first(params, f"MediaContentType{i}") or "application/octet-stream"})
        return media
