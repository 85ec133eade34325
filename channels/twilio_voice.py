"""Phone calls through Twilio, in Mandarin.

    POST /webhooks/twilio_voice/webhook   the number's "A call comes in" URL, and every <Gather> action
    POST /webhooks/twilio_voice/status    the number's "Call status changes" URL
    GET  /webhooks/twilio_voice/          health

A whole call is one conversation: the sender id is the ``CallSid``. The bot's messages are
spoken with ``<Say language="zh-CN" voice="Polly.Zhiyu">`` inside a ``<Gather input="speech
dtmf" language="zh-CN" hints="…">`` whose hints are the event catalogue's names and the place
names of the region tree. Buttons become keypad choices: a yes/no question (payloads /affirm and
/deny) adds "确认请按1，否认请按2"; other menus are read out as "<title>请按<n>". 0 always asks for a
person; so does the intent ``request_human`` when ``VOICE_OPERATOR_NUMBER`` is set (the bot's
answer is spoken, then the call is transferred).

Silence, speech that was not recognised, an invalid key and a reply the NLU could not place
(``nlu_fallback``) count as failed turns (the count travels in the action URL as ``retry``):
the caller is asked again, after ``VOICE_MAX_RETRIES`` a person is offered (press 0), and one
failure later the call is transferred to ``VOICE_OPERATOR_NUMBER`` — or, without one, the caller
is told someone will call back, and the call ends (leaving a draft, below).

When the call ends (status callback) and the caller said something but the report is not on
record — the ``ticket_number`` slot is empty (``VOICE_TICKET_SLOT``) and the bot never said one of
``VOICE_FINISHED_RESPONSES`` (ticket filed, queued in the action server's outbox, handed off) —
the transcript so far goes to
the routing backend as a ticket without an event type — which the backend sends to the intake
desk with ``needs_operator`` set — with the caller's number as contact unless the caller ID was
withheld or the caller asked to stay anonymous (intent ``stay_anonymous`` or slot ``anonymous``).

Every request must carry a valid ``X-Twilio-Signature`` (``TWILIO_AUTH_TOKEN``,
``PUBLIC_BASE_URL``); a forged one gets 403 and reaches nothing. Replies stay within Twilio's
15-second limit: if the bot takes longer than ``VOICE_REPLY_TIMEOUT`` seconds the caller hears
"请稍等" and Twilio comes back (``event=wait``) for the answer, which keeps being computed.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import urlencode

import yaml
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.voice_response import VoiceResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage

from channels import logsafe
from channels.common import (
    META_CHANNEL,
    META_IDENTITY,
    META_PHONE,
    digit_choices,
    guard_payload,
    float_setting,
    int_setting,
    is_payload,
    is_yes_no,
    last_bot_message,
    last_turn_choices,
    offered_payloads,
    setting,
    text,
)
from channels.routing_client import RoutingClient
from channels.twilio_common import (
    SignatureCheck,
    caller_number,
    first,
    forbidden,
    form_params,
    latest_intent,
    slot_value,
    tracker_events,
    twiml,
)

logger = logging.getLogger(__name__)

CHANNEL = "voice"
NAME = "twilio_voice"
DEFAULT_VOICE = "Polly.Zhiyu"
LANGUAGE = "zh-CN"
INITIAL_PAYLOAD = "/greet"
TERMINAL_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
FALLBACK_INTENTS = {"nlu_fallback"}
GOODBYE_INTENTS = {"goodbye"}
HANDOFF_INTENTS = {"request_human"}
# Bot responses after which the call's report is on record (a ticket, the action server's outbox
# or a hand-off record): no draft is left when such a call ends.
FINISHED_RESPONSES = ("utter_ticket_filed", "utter_emergency_ticket_filed", "utter_ticket_duplicate",
                      "utter_ticket_queued", "utter_handoff", "utter_handoff_queued")
MAX_HINTS = 450            # Twilio accepts up to 500 hint phrases
MAX_TICKET_TEXT = 4800     # the backend refuses texts over 5000 characters
ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- speech hints
@lru_cache(maxsize=1)
def speech_hints() -> Tuple[str, ...]:
    """Event type names from the catalogue, then place names from the region tree (cities,
    districts, streets, communities — not grids), without duplicates."""
    hints: List[str] = []
    try:
        from routing.catalog import load_catalog

        hints.extend(t.name for t in load_catalog())
    except Exception:  # the channel must work without the catalogue, only less well
        logger.exception("voice: could not load the event catalogue for speech hints")
    try:
        data = yaml.safe_load((ROOT / "routing" / "data" / "regions.yml").read_text(encoding="utf-8")) or {}

        def walk(items: Sequence[Mapping[str, Any]]) -> None:
            for item in items:
                if item.get("level") != "grid" and item.get("name"):
                    hints.append(str(item["name"]))
                walk(item.get("children") or [])

        walk(data.get("regions") or [])
    except Exception:
        logger.exception("voice: could not load place names for speech hints")
    seen: Dict[str, None] = {}
    for hint in hints:
        hint = hint.replace(",", " ").strip()
        if hint and hint not in seen:
            seen[hint] = None
    return tuple(list(seen)[:MAX_HINTS])


# --------------------------------------------------------------------------- settings
@dataclass
class VoiceSettings:
    auth_token: Optional[str] = None
    public_base_url: Optional[str] = None
    voice: str = DEFAULT_VOICE
    language: str = LANGUAGE
    max_retries: int = 2
    operator_number: Optional[str] = None
    reply_timeout: float = 10.0
    gather_timeout: int = 6
    speech_model: Optional[str] = None
    ticket_slot: str = "ticket_number"
    anonymous_slot: str = "anonymous"
    finished_responses: Tuple[str, ...] = FINISHED_RESPONSES
    hints: Tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_credentials(cls, c: Optional[Dict[str, Any]]) -> "VoiceSettings":
        return cls(
            auth_token=setting(c, "auth_token", "TWILIO_AUTH_TOKEN"),
            public_base_url=setting(c, "public_base_url", "PUBLIC_BASE_URL"),
            voice=setting(c, "voice", "VOICE_TTS_VOICE", DEFAULT_VOICE) or DEFAULT_VOICE,
            language=setting(c, "language", "VOICE_LANGUAGE", LANGUAGE) or LANGUAGE,
            max_retries=int_setting(c, "max_retries", "VOICE_MAX_RETRIES", 2),
            operator_number=setting(c, "operator_number", "VOICE_OPERATOR_NUMBER"),
            reply_timeout=float_setting(c, "reply_timeout", "VOICE_REPLY_TIMEOUT", 10.0),
            gather_timeout=int_setting(c, "gather_timeout", "VOICE_GATHER_TIMEOUT", 6),
            speech_model=setting(c, "speech_model", "VOICE_SPEECH_MODEL"),
            ticket_slot=setting(c, "ticket_slot", "VOICE_TICKET_SLOT", "ticket_number") or "ticket_number",
            anonymous_slot=setting(c, "anonymous_slot", "VOICE_ANONYMOUS_SLOT", "anonymous") or "anonymous",
            finished_responses=tuple(
                r.strip() for r in (setting(c, "finished_responses", "VOICE_FINISHED_RESPONSES") or
                                    ",".join(FINISHED_RESPONSES)).split(",") if r.strip()),
            hints=speech_hints(),
        )


# --------------------------------------------------------------------------- TwiML
class VoiceCollector(CollectingOutputChannel):
    @classmethod
    def name(cls) -> str:
        return NAME


def spoken_lines(messages: Sequence[Mapping[str, Any]]) -> Tuple[List[str], List[Mapping[str, Any]], Dict[str, bool]]:
    """What to say for the bot's messages, the buttons of the last message that had any, and
    control flags from custom payloads (``{"hangup": true}``, ``{"transfer": true}``)."""
    lines: List[str] = []
    buttons: List[Mapping[str, Any]] = []
    flags = {"hangup": False, "transfer": False}
    for message in messages:
        if message.get("text"):
            lines.append(str(message["text"]))
        if message.get("buttons"):
            buttons = list(message["buttons"])
        custom = message.get("custom")
        if isinstance(custom, dict):
            data = custom.get("voice") if isinstance(custom.get("voice"), dict) else custom
            if data.get("text"):
                lines.append(str(data["text"]))
            flags["hangup"] = flags["hangup"] or bool(data.get("hangup"))
            flags["transfer"] = flags["transfer"] or bool(data.get("transfer"))
    return lines, buttons, flags


def choice_prompt(buttons: Sequence[Mapping[str, Any]]) -> Optional[str]:
    if not buttons:
        return None
    if is_yes_no(buttons):
        return text("voice", "yes_no")
    return "".join(text("voice", "choice", title=b.get("title") or "", digit=d)
                   for d, b in digit_choices(buttons).items())


class TwimlBuilder:
    def __init__(self, settings: VoiceSettings, webhook_url: Callable[[Dict[str, str]], str]):
        self.s = settings
        self.webhook_url = webhook_url

    def _say(self, parent: Any, body: str) -> None:
        parent.say(body, voice=self.s.voice, language=self.s.language)

    def gather(self, lines: Sequence[str], retry: int, buttons: Sequence[Mapping[str, Any]] = (),
               offer_human: bool = False) -> str:
        r = VoiceResponse()
        attrs: Dict[str, Any] = dict(
            input="speech dtmf", language=self.s.language,
            action=self.webhook_url({"event": "gather", "retry": str(retry)}), method="POST",
            timeout=self.s.gather_timeout, speech_timeout="auto", num_digits=1,
            action_on_empty_result=True,
        )
        if self.s.hints:
            attrs["hints"] = ",".join(self.s.hints)
        if self.s.speech_model:
            attrs["speech_model"] = self.s.speech_model
        g = r.gather(**attrs)
        spoken = [line for line in lines if line.strip()]
        prompt = choice_prompt(buttons)
        if prompt:
            spoken.append(prompt)
        if offer_human:
            spoken.append(text("voice", "offer_human"))
        if not spoken:
            spoken.append(text("voice", "listening"))
        for line in spoken:
            self._say(g, line)
        # Only reached if Twilio did not call the action (older accounts ignore actionOnEmptyResult).
        r.redirect(self.webhook_url({"event": "silence", "retry": str(retry + 1)}), method="POST")
        return str(r)

    def transfer(self, lines: Sequence[str] = ()) -> str:
        """Hand the call to a person (the bot's own lines first, if it said something)."""
        r = VoiceResponse()
        spoken = [line for line in lines if line.strip()]
        for line in spoken:
            self._say(r, line)
        if self.s.operator_number:
            if not spoken:
                self._say(r, text("voice", "transfer"))
            r.dial(self.s.operator_number)
        else:
            self._say(r, text("voice", "no_operator"))
            r.hangup()
        return str(r)

    def goodbye(self, lines: Sequence[str]) -> str:
        r = VoiceResponse()
        for line in lines:
            if line.strip():
                self._say(r, line)
        r.hangup()
        return str(r)

    def wait(self, retry: int) -> str:
        r = VoiceResponse()
        self._say(r, text("voice", "please_wait"))
        r.pause(length=1)
        r.redirect(self.webhook_url({"event": "wait", "retry": str(retry)}), method="POST")
        return str(r)


# --------------------------------------------------------------------------- transcript / draft
def transcript(events: Sequence[Mapping[str, Any]]) -> str:
    lines: List[str] = []
    for event in events:
        kind = event.get("event")
        if kind == "user":
            body = (event.get("text") or "").strip()
            meta = event.get("metadata") or {}
            if meta.get("voice", {}).get("digit"):
                body = text("voice", "draft_keypress", digit=meta["voice"]["digit"])
            elif not body or body == INITIAL_PAYLOAD or is_payload(body):
                continue
            lines.append(f"{text('voice', 'draft_caller')}：{body}")
        elif kind == "bot" and event.get("text"):
            lines.append(f"{text('voice', 'draft_bot')}：{event['text']}")
    return "\n".join(lines)


def said_something(events: Sequence[Mapping[str, Any]]) -> bool:
    for event in events:
        if event.get("event") != "user":
            continue
        body = (event.get("text") or "").strip()
        if body and body != INITIAL_PAYLOAD and not is_payload(body):
            return True
    return False


def report_on_record(events: Sequence[Mapping[str, Any]], settings: "VoiceSettings") -> bool:
    """The call's report reached a ticket (slot), the outbox or a hand-off record."""
    if slot_value(events, settings.ticket_slot):
        return True
    return any(e.get("event") == "bot" and (e.get("metadata") or {}).get("utter_action") in settings.finished_responses
               for e in events)


def wants_anonymity(events: Sequence[Mapping[str, Any]], anonymous_slot: str) -> bool:
    if slot_value(events, anonymous_slot) in (True, "true", "yes"):
        return True
    return any(e.get("event") == "user" and ((e.get("parse_data") or {}).get("intent") or {}).get("name")
               == "stay_anonymous" for e in events)


def draft_body(events: Sequence[Mapping[str, Any]], phone: Optional[str], anonymous: bool) -> Dict[str, Any]:
    """The ticket the backend gets for a call that ended mid-intake."""
    from routing.catalog import load_catalog

    catalog = load_catalog()
    prediction: Optional[Tuple[str, float]] = None
    locations: List[str] = []
    for event in events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        if intent.get("name") in catalog:
            prediction = (intent["name"], float(intent.get("confidence") or 0.0))
        for entity in parse.get("entities") or []:
            if entity.get("entity") == "location" and entity.get("value"):
                locations.append(str(entity["value"]))
    header = [text("voice", "draft_header")]
    if prediction is not None:
        header.append(text("voice", "draft_prediction", event_name=catalog[prediction[0]].name,
                           confidence=f"{prediction[1]:.2f}"))
    body = "\n".join(header) + "\n" + transcript(events)
    if len(body) > MAX_TICKET_TEXT:
        body = body[:MAX_TICKET_TEXT] + "…"
    # the model's guess is kept as the type; needs_operator sends it to a person to confirm
    ticket: Dict[str, Any] = {"text": body, "channel": CHANNEL, "needs_operator": True,
                              "event_type": prediction[0] if prediction is not None else None}
    if locations:
        ticket["location_text"] = locations[-1]
    if anonymous:
        ticket["reporter"] = {"anonymous": True}
    elif phone is not None:
        ticket["reporter"] = {"phone": phone, "channel_identity": f"{CHANNEL}:{phone}", "anonymous": False}
    return ticket


# --------------------------------------------------------------------------- the channel
class TwilioVoiceInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TwilioVoiceInput":
        return cls(VoiceSettings.from_credentials(credentials),
                   RoutingClient(setting(credentials, "routing_url", "ROUTING_URL"),
                                 setting(credentials, "routing_token", "ROUTING_TOKEN")))

    def __init__(self, settings: VoiceSettings, routing: Optional[RoutingClient] = None):
        logsafe.register_secret(settings.auth_token)
        logsafe.install()
        self.s = settings
        self.check = SignatureCheck(settings.auth_token, settings.public_base_url)
        self.routing = routing or RoutingClient()
        self.pending: Dict[str, "asyncio.Task[List[Dict[str, Any]]]"] = {}
        self.drafted: Dict[str, None] = {}
        if not settings.auth_token:
            logger.warning("twilio voice channel: TWILIO_AUTH_TOKEN is not set; every request is refused")

    def _url(self, request: Request, path: str, params: Dict[str, str]) -> str:
        base = self.s.public_base_url or f"{request.scheme}://{request.host}"
        prefix = request.path.rsplit("/", 1)[0]
        return f"{base.rstrip('/')}{prefix}/{path}?{urlencode(params)}"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("petition_twilio_voice", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": bool(self.s.auth_token)})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.check.valid(request):
                logger.warning("twilio voice: request with a missing or invalid signature refused")
                return forbidden()
            builder = TwimlBuilder(self.s, lambda p: self._url(request, "webhook", p))
            try:
                return twiml(await self.turn(request, form_params(request), builder, on_new_message))
            except Exception:
                logger.exception("twilio voice: turn failed")
                return twiml(builder.goodbye([text("voice", "error")]))

        @bp.route("/status", methods=["POST"])
        async def status(request: Request) -> HTTPResponse:
            if not self.check.valid(request):
                logger.warning("twilio voice: status callback with a missing or invalid signature refused")
                return forbidden()
            params = form_params(request)
            try:
                await self.call_ended(request, params)
            except Exception:
                logger.exception("twilio voice: status callback failed")
            return response.empty()

        return bp

    # ------------------------------------------------------------------ one turn
    async def turn(self, request: Request, params: Mapping[str, List[str]], builder: TwimlBuilder,
                   on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> str:
        call_sid = first(params, "CallSid")
        if not call_sid:
            return builder.goodbye([text("voice", "error")])
        event = request.args.get("event", "")
        try:
            retry = max(0, int(request.args.get("retry", "0")))
        except ValueError:
            retry = 0
        digits = first(params, "Digits").strip()
        speech = first(params, "SpeechResult").strip()

        if event == "wait":
            return await self._collect(call_sid, retry, builder, request)
        if digits == "0":
            return builder.transfer()
        events = await tracker_events(request, call_sid)
        meta = self._metadata(params)
        if digits:
            last = last_turn_choices(events)
            choices = digit_choices(last["buttons"]) if last else {}
            button = choices.get(digits[:1])
            if button is None:
                return self._failed(builder, retry + 1, "invalid_digit", events)
            body = str(button.get("payload") or button.get("title"))
            meta["voice"].update({"input": "dtmf", "digit": digits[:1]})
        elif speech:
            body = guard_payload(speech, offered_payloads(events))
            meta["voice"].update({"input": "speech", "confidence": _float(first(params, "Confidence"))})
        elif event in ("gather", "silence"):
            # Twilio reports silence and unrecognised speech alike (an empty result); the
            # Redirect after the Gather (event=silence) is only reached on a plain timeout.
            return self._failed(builder, retry + 1, "silence" if event == "silence" else "no_match", events)
        else:
            body = INITIAL_PAYLOAD
            meta["voice"].update({"input": "call_start"})

        message = UserMessage(body, VoiceCollector(), call_sid, input_channel=NAME, metadata=meta)
        task = asyncio.ensure_future(self._process(message, on_new_message))
        self.pending[call_sid] = task
        return await self._collect(call_sid, retry, builder, request)

    async def _process(self, message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                       ) -> List[Dict[str, Any]]:
        await on_new_message(message)
        return list(message.output_channel.messages)  # type: ignore[attr-defined]

    async def _collect(self, call_sid: str, retry: int, builder: TwimlBuilder, request: Request) -> str:
        task = self.pending.get(call_sid)
        if task is None:  # a stray "wait" (e.g. after a restart): just listen again
            return builder.gather([text("voice", "listening")], retry)
        try:
            messages = await asyncio.wait_for(asyncio.shield(task), timeout=self.s.reply_timeout)
        except asyncio.TimeoutError:
            return builder.wait(retry)
        finally:
            if task.done():
                self.pending.pop(call_sid, None)
        events = await tracker_events(request, call_sid)
        lines, buttons, flags = spoken_lines(messages)
        intent = latest_intent(events)
        if flags["transfer"] or (intent in HANDOFF_INTENTS and self.s.operator_number):
            return builder.transfer(lines)
        if flags["hangup"] or intent in GOODBYE_INTENTS:
            return builder.goodbye(lines)
        if intent in FALLBACK_INTENTS:
            retry += 1
            if retry > self.s.max_retries + 1:
                return builder.transfer()
        else:
            retry = 0
        return builder.gather(lines, retry, buttons, offer_human=retry > self.s.max_retries)

    def _failed(self, builder: TwimlBuilder, retry: int, reason: str, events: Sequence[Mapping[str, Any]]) -> str:
        """Nothing usable came in: ask again (repeating the last question), offer a person, then
        transfer."""
        if retry > self.s.max_retries + 1:
            return builder.transfer()
        last = last_bot_message(events)
        lines = [text("voice", reason)]
        if last is not None and last.get("text"):
            lines.append(str(last["text"]))  # the question asked last
        menu = last_turn_choices(events)
        buttons: List[Mapping[str, Any]] = list(menu["buttons"]) if menu else []
        return builder.gather(lines, retry, buttons, offer_human=retry > self.s.max_retries)

    def _metadata(self, params: Mapping[str, List[str]]) -> Dict[str, Any]:
        phone = caller_number(first(params, "From") or first(params, "Caller"))
        meta: Dict[str, Any] = {
            META_CHANNEL: CHANNEL,
            "call_sid": first(params, "CallSid"),
            "caller_id_withheld": phone is None,
            "voice": {},
        }
        if phone is not None:
            meta[META_PHONE] = phone
            meta[META_IDENTITY] = f"{CHANNEL}:{phone}"
        return meta

    # ------------------------------------------------------------------ end of call
    async def call_ended(self, request: Request, params: Mapping[str, List[str]]) -> Optional[Dict[str, Any]]:
        status = first(params, "CallStatus").lower()
        call_sid = first(params, "CallSid")
        if status not in TERMINAL_STATUSES or not call_sid or call_sid in self.drafted:
            return None
        task = self.pending.pop(call_sid, None)
        if task is not None:  # the caller hung up while the bot was still thinking
            try:
                await asyncio.wait_for(task, timeout=30)
            except Exception:
                pass
        events = await tracker_events(request, call_sid)
        if not said_something(events) or report_on_record(events, self.s):
            return None
        phone = caller_number(first(params, "From") or first(params, "Caller"))
        body = draft_body(events, phone, wants_anonymity(events, self.s.anonymous_slot))
        created = await self.routing.create_ticket(body, f"voice-draft-{call_sid}")
        self.drafted[call_sid] = None
        while len(self.drafted) > 10_000:
            self.drafted.pop(next(iter(self.drafted)))
        if created is not None:
            logger.info("voice: call %s ended mid-intake; draft ticket %s left for an operator",
                        call_sid, created.get("number"))
        return created


def _float(raw: str) -> Optional[float]:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None

