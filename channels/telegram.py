"""Telegram channel (python-telegram-bot), webhook mode behind the rasa server.

    POST /webhooks/telegram/webhook   updates from Telegram (or from `python -m channels.telegram_polling`)
    GET  /webhooks/telegram/          health: {"status": "ok", "configured": …}

Every update must carry the ``X-Telegram-Bot-Api-Secret-Token`` header set with setWebhook
(``TELEGRAM_WEBHOOK_SECRET``); anything else gets 403 and reaches nothing. Updates are parsed
with PTB's ``Update.de_json`` and answered with PTB's ``Bot`` (async, inside the rasa server's
event loop). The Bot API base URL is ``TELEGRAM_API_BASE_URL`` (tests point it at a fake server).

What residents can send, and what the conversation receives (``UserMessage``):
- text → the text (``/start`` → ``/greet``; ``/help`` is answered here)
- a shared location or venue → ``/inform{"location": "<address or district>"}`` with
  ``metadata.location`` = {latitude, longitude, horizontal_accuracy, title, address, division}
- a shared contact (their own) → ``/inform{"phone": "…"}`` with ``metadata.phone``
- photos and documents → the caption (or ``/inform``) with ``metadata.attachments`` = [{source:
  telegram, kind, file_id, file_unique_id, size, mime_type, file_name, width, height}]; files over
  ``TELEGRAM_MAX_FILE_BYTES`` get a polite refusal. ``channels.telegram_bot.download_attachment``
  fetches one (without importing rasa: usable from the action server).
- voice notes, audio, video → a polite answer (type, or call the hotline); not forwarded
- an inline-keyboard press → the button's payload (the keyboard is removed, the choice shown)
- edited messages → a short note that edits are not re-read; other update kinds are ignored

Every message carries ``metadata.channel = "telegram"`` and ``metadata.channel_identity =
"telegram:<chat id>"`` (also the conversation's sender id). Only private chats are served unless
``TELEGRAM_ALLOW_GROUPS=1`` (a complaint in a group would expose the resident).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import TelegramError

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage

from channels import logsafe
from channels.common import (
    META_ATTACHMENTS,
    META_CHANNEL,
    META_IDENTITY,
    META_LOCATION,
    META_PHONE,
    bool_setting,
    button_payload,
    guard_payload,
    human_size,
    int_setting,
    offered_payloads,
    setting,
    text,
    tracker_events,
)
from channels.geo import nearest_district
from channels.telegram_bot import (  # noqa: F401 - re-exported for the channel's users
    ALLOWED_UPDATES,
    DEFAULT_API_BASE,
    DEFAULT_MAX_FILE_BYTES,
    MAX_TEXT,
    SECRET_HEADER,
    chat_id_of,
    download_attachment,
    make_bot,
    split_text,
)

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_DATA_BYTES = 64             # Bot API limit for callback_data
LOCATION_PAYLOAD = "/inform"
ATTACHMENT_PAYLOAD = "/inform"
START_PAYLOAD = "/greet"


class CallbackPayloads:
    """callback_data holds at most 64 bytes. Longer payloads are kept here under a short key
    (process memory, bounded); a key that is no longer known falls back to the button's title,
    which Telegram sends back with the keyboard."""

    PREFIX = "cb:"

    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._items: "OrderedDict[str, str]" = OrderedDict()

    def data_for(self, payload: str) -> str:
        if len(payload.encode("utf-8")) <= CALLBACK_DATA_BYTES and not payload.startswith(self.PREFIX):
            return payload
        key = self.PREFIX + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]
        self._items[key] = payload
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return key

    def payload_for(self, data: str) -> Optional[str]:
        if not data.startswith(self.PREFIX):
            return data
        return self._items.get(data)


def keyboard_for(buttons: Sequence[Dict[str, Any]], payloads: CallbackPayloads) -> InlineKeyboardMarkup:
    """Rasa buttons → an inline keyboard: short titles side by side (up to 3), long ones stacked."""
    items: List[InlineKeyboardButton] = []
    for button in buttons:
        title = str(button.get("title") or button_payload(button))
        if button.get("url") or button.get("type") == "web_url":
            items.append(InlineKeyboardButton(title, url=str(button.get("url") or button.get("payload"))))
        else:
            items.append(InlineKeyboardButton(title, callback_data=payloads.data_for(button_payload(button))))
    short = len(items) <= 3 and all(len(b.text) <= 8 for b in items)
    rows = [items] if short else [[b] for b in items]
    return InlineKeyboardMarkup(rows)


class TelegramOutput(OutputChannel):
    """Sends the bot's messages with PTB. Failures are logged, never raised into the dialogue."""

    def __init__(self, bot: Bot, payloads: CallbackPayloads, ready: Callable[[], Awaitable[None]]):
        self.bot = bot
        self.payloads = payloads
        self._ready = ready

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def _call(self, what: str, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            await self._ready()
            return await call()
        except (TelegramError, ValueError) as exc:
            logger.warning("telegram %s failed: %s", what, exc)
            return None

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        chat_id = chat_id_of(recipient_id)
        for part in split_text(text):
            await self._call("sendMessage", lambda p=part: self.bot.send_message(chat_id=chat_id, text=p))

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: List[Dict[str, Any]],
                                     **kwargs: Any) -> None:
        chat_id = chat_id_of(recipient_id)
        parts = split_text(text or "请选择：")
        for part in parts[:-1]:
            await self._call("sendMessage", lambda p=part: self.bot.send_message(chat_id=chat_id, text=p))
        markup = keyboard_for(buttons, self.payloads)
        await self._call("sendMessage", lambda: self.bot.send_message(
            chat_id=chat_id, text=parts[-1], reply_markup=markup))

    async def send_quick_replies(self, recipient_id: str, text: str, quick_replies: List[Dict[str, Any]],
                                 **kwargs: Any) -> None:
        await self.send_text_with_buttons(recipient_id, text, quick_replies)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        chat_id = chat_id_of(recipient_id)
        await self._call("sendPhoto", lambda: self.bot.send_photo(chat_id=chat_id, photo=image))

    async def send_attachment(self, recipient_id: str, attachment: Any, **kwargs: Any) -> None:
        chat_id = chat_id_of(recipient_id)
        if isinstance(attachment, str) and attachment.startswith(("http://", "https://")):
            await self._call("sendDocument", lambda: self.bot.send_document(chat_id=chat_id, document=attachment))
        else:
            await self.send_text_message(recipient_id, str(attachment))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Custom payloads: ``{"telegram": {"location": {...}} | {"photo": url, "caption": …} |
        {"document": url} | {"text": …, "buttons": [...]}}`` or a plain ``{"text": …}``.
        Anything else is logged and dropped (never dumped as JSON at the resident)."""
        data = json_message.get("telegram") if isinstance(json_message.get("telegram"), dict) else json_message
        chat_id = chat_id_of(recipient_id)
        if isinstance(data.get("location"), dict):
            loc = data["location"]
            await self._call("sendLocation", lambda: self.bot.send_location(
                chat_id=chat_id, latitude=float(loc["latitude"]), longitude=float(loc["longitude"])))
        elif data.get("photo"):
            await self._call("sendPhoto", lambda: self.bot.send_photo(
                chat_id=chat_id, photo=str(data["photo"]), caption=data.get("caption")))
        elif data.get("document"):
            await self._call("sendDocument", lambda: self.bot.send_document(
                chat_id=chat_id, document=str(data["document"]), caption=data.get("caption")))
        elif data.get("text") and data.get("buttons"):
            await self.send_text_with_buttons(recipient_id, str(data["text"]), list(data["buttons"]))
        elif data.get("text"):
            await self.send_text_message(recipient_id, str(data["text"]))
        else:
            logger.info("telegram: custom message without a known key dropped (keys: %s)", sorted(data))


class TelegramInput(InputChannel):
    """The Telegram webhook as a rasa input channel."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> "TelegramInput":
        return cls(
            token=setting(credentials, "bot_token", "TELEGRAM_BOT_TOKEN"),
            webhook_secret=setting(credentials, "webhook_secret", "TELEGRAM_WEBHOOK_SECRET"),
            api_base_url=setting(credentials, "api_base_url", "TELEGRAM_API_BASE_URL", DEFAULT_API_BASE),
            max_file_bytes=int_setting(credentials, "max_file_bytes", "TELEGRAM_MAX_FILE_BYTES",
                                       DEFAULT_MAX_FILE_BYTES),
            allow_groups=bool_setting(credentials, "allow_groups", "TELEGRAM_ALLOW_GROUPS", False),
        )

    def __init__(self, token: Optional[str], webhook_secret: Optional[str],
                 api_base_url: str = DEFAULT_API_BASE, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
                 allow_groups: bool = False):
        logsafe.register_secret(token)
        logsafe.register_secret(webhook_secret)
        logsafe.install()
        self.token = token
        self.webhook_secret = webhook_secret
        self.api_base_url = api_base_url
        self.max_file_bytes = max_file_bytes
        self.allow_groups = allow_groups
        self.bot: Optional[Bot] = make_bot(token, api_base_url) if token else None
        self.payloads = CallbackPayloads()
        self._init_lock: Optional[asyncio.Lock] = None
        self._seen_updates: "OrderedDict[int, None]" = OrderedDict()
        if not token:
            logger.warning("telegram channel: TELEGRAM_BOT_TOKEN is not set; the webhook answers 503")
        if not webhook_secret:
            logger.warning("telegram channel: TELEGRAM_WEBHOOK_SECRET is not set; the webhook refuses every update")

    # ------------------------------------------------------------------ plumbing
    async def ensure_bot(self) -> None:
        """Initialise the Bot (getMe, HTTP pool) once, inside the running event loop."""
        assert self.bot is not None
        if self.bot._initialized:  # noqa: SLF001 - PTB exposes no public flag
            return
        if self._init_lock is None:
            self._init_lock = asyncio.Lock()
        async with self._init_lock:
            if not self.bot._initialized:  # noqa: SLF001
                await self.bot.initialize()

    def output(self) -> TelegramOutput:
        assert self.bot is not None
        return TelegramOutput(self.bot, self.payloads, self.ensure_bot)

    def get_output_channel(self) -> Optional[OutputChannel]:
        return self.output() if self.bot is not None else None

    def secret_ok(self, request: Request) -> bool:
        given = request.headers.get(SECRET_HEADER) or ""
        if not self.webhook_secret or not given:
            return False
        return hmac.compare_digest(given.encode("utf-8"), self.webhook_secret.encode("utf-8"))

    def _first_time(self, update_id: int) -> bool:
        """Telegram re-delivers an update it thinks failed; handle each update_id once."""
        if update_id in self._seen_updates:
            return False
        self._seen_updates[update_id] = None
        while len(self._seen_updates) > 5000:
            self._seen_updates.popitem(last=False)
        return True

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("petition_telegram_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": bool(self.bot and self.webhook_secret)})

        @bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.secret_ok(request):
                logger.warning("telegram: update refused (missing or wrong secret token)")
                return response.json({"ok": False, "error": "forbidden"}, status=403)
            if self.bot is None:
                return response.json({"ok": False, "error": "bot token not configured"}, status=503)
            try:
                data = json.loads(request.body or b"{}")
                if not isinstance(data, dict):
                    raise ValueError("an update is a JSON object")
            except ValueError:
                return response.json({"ok": False, "error": "bad json"}, status=400)
            await self.ensure_bot()
            try:
                update = Update.de_json(data, self.bot)
            except Exception:  # malformed update: acknowledge, or Telegram retries it forever
                logger.exception("telegram: could not parse update")
                return response.json({"ok": True})
            if update is None or not self._first_time(update.update_id):
                return response.json({"ok": True})
            await self.handle_update(update, on_new_message, lambda sender: tracker_events(request, sender))
            return response.json({"ok": True})

        @bp.listener("after_server_stop")
        async def shutdown(*_: Any) -> None:
            if self.bot is not None and self.bot._initialized:  # noqa: SLF001
                await self.bot.shutdown()

        return bp

    # ------------------------------------------------------------------ updates
    async def handle_update(self, update: Update, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                            events_of: Optional[Callable[[str], Awaitable[List[Dict[str, Any]]]]] = None) -> None:
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query, on_new_message)
            elif update.message is not None:
                await self._on_message(update.message, on_new_message, events_of)
            elif update.edited_message is not None:
                await self._on_edited(update.edited_message)
            else:
                logger.debug("telegram: update %s of another kind ignored", update.update_id)
        except Exception:
            logger.exception("telegram: handling update %s failed", update.update_id)
            chat = update.effective_chat
            if chat is not None and self._served(chat.type):
                await self.output().send_text_message(str(chat.id), text("telegram", "error"))

    def _served(self, chat_type: str) -> bool:
        return chat_type == "private" or self.allow_groups

    def _metadata(self, message: Message, **extra: Any) -> Dict[str, Any]:
        chat = message.chat
        user = message.from_user
        meta: Dict[str, Any] = {
            META_CHANNEL: CHANNEL,
            META_IDENTITY: f"{CHANNEL}:{chat.id}",
            "telegram": {"chat_id": chat.id, "message_id": message.message_id,
                         "user_id": user.id if user else None,
                         "language_code": user.language_code if user else None},
        }
        meta.update(extra)
        return meta

    async def _say(self, chat_id: int, body: str) -> None:
        await self.output().send_text_message(str(chat_id), body)

    async def _forward(self, on_new_message: Callable[[UserMessage], Awaitable[Any]], message: Message,
                       body: str, metadata: Dict[str, Any]) -> None:
        await on_new_message(UserMessage(
            body, self.output(), f"{CHANNEL}:{message.chat.id}", input_channel=CHANNEL,
            message_id=f"tg-{message.chat.id}-{message.message_id}", metadata=metadata,
        ))

    async def _on_message(self, message: Message, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                          events_of: Optional[Callable[[str], Awaitable[List[Dict[str, Any]]]]] = None) -> None:
        chat = message.chat
        if not self._served(chat.type):
            logger.debug("telegram: message in a %s chat ignored", chat.type)
            return
        if message.text:
            body = message.text.strip()
            command = body.split()[0].split("@")[0].lower() if body.startswith("/") else ""
            if command == "/start":
                body = START_PAYLOAD
            elif command == "/help":
                await self._say(chat.id, text("telegram", "help"))
                return
            elif command:
                events = await events_of(f"{CHANNEL}:{chat.id}") if events_of is not None else []
                body = guard_payload(body, offered_payloads(events))
                if not body:
                    return
            await self._forward(on_new_message, message, body, self._metadata(message))
            return
        if message.location is not None or message.venue is not None:
            await self._forward(on_new_message, message, *self._location(message))
            return
        if message.contact is not None:
            contact = message.contact
            own = message.from_user is not None and contact.user_id == message.from_user.id
            extra = {META_PHONE: contact.phone_number} if own else {"shared_contact": contact.phone_number}
            body = "/inform" + json.dumps({"phone": contact.phone_number}, ensure_ascii=False) if own else "/inform"
            await self._forward(on_new_message, message, body, self._metadata(message, **extra))
            return
        if message.voice or message.audio or message.video_note or message.video:
            await self._say(chat.id, text("telegram", "voice_note"))
            return
        if message.photo or message.document:
            attachment = self._attachment(message)
            caption = (message.caption or "").strip()
            if attachment is None:
                await self._say(chat.id, text("telegram", "file_too_large", limit=human_size(self.max_file_bytes)))
                if caption:
                    await self._forward(on_new_message, message, caption, self._metadata(message))
                return
            await self._forward(on_new_message, message, caption or ATTACHMENT_PAYLOAD,
                                self._metadata(message, **{META_ATTACHMENTS: [attachment]}))
            return
        await self._say(chat.id, text("telegram", "unsupported"))

    def _location(self, message: Message) -> "tuple[str, Dict[str, Any]]":
        venue = message.venue
        loc = venue.location if venue is not None else message.location
        assert loc is not None
        info: Dict[str, Any] = {"latitude": loc.latitude, "longitude": loc.longitude,
                                "horizontal_accuracy": loc.horizontal_accuracy, "source": "telegram"}
        if venue is not None:
            info.update({"title": venue.title, "address": venue.address})
        district = nearest_district(loc.latitude, loc.longitude)
        if district is not None:
            info["division"] = district.as_dict()
        place = (venue.address or venue.title) if venue is not None else None
        place = place or (district.district if district is not None else None)
        body = LOCATION_PAYLOAD + (json.dumps({"location": place}, ensure_ascii=False) if place else "")
        return body, self._metadata(message, **{META_LOCATION: info})

    def _attachment(self, message: Message) -> Optional[Dict[str, Any]]:
        """The attachment's metadata, or None if it is over the size limit."""
        limit = self.max_file_bytes
        if message.photo:
            fitting = [p for p in message.photo if p.file_size is None or p.file_size <= limit]
            if not fitting:
                return None
            photo = max(fitting, key=lambda p: (p.width * p.height, p.file_size or 0))
            return {"source": CHANNEL, "kind": "photo", "file_id": photo.file_id,
                    "file_unique_id": photo.file_unique_id, "size": photo.file_size,
                    "mime_type": "image/jpeg", "width": photo.width, "height": photo.height}
        doc = message.document
        assert doc is not None
        if doc.file_size is not None and doc.file_size > limit:
            return None
        return {"source": CHANNEL, "kind": "document", "file_id": doc.file_id,
                "file_unique_id": doc.file_unique_id, "size": doc.file_size,
                "mime_type": doc.mime_type or "application/octet-stream", "file_name": doc.file_name}

    async def _on_edited(self, message: Message) -> None:
        if self._served(message.chat.type):
            await self._say(message.chat.id, text("telegram", "edited"))

    async def _on_callback(self, query: CallbackQuery,
                           on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        out = self.output()
        await out._call("answerCallbackQuery", lambda: self.bot.answer_callback_query(query.id))  # type: ignore[union-attr]
        message = query.message
        if not isinstance(message, Message) or not self._served(message.chat.type):
            return  # inline-mode or inaccessible message: nothing to continue
        data = query.data or ""
        title = _button_title(message, data)
        if title is None:
            # not a button of that message: a client can send any callback data, so this is not
            # trusted as a payload (see common.guard_payload)
            logger.warning("telegram: callback data that matches no button of the message ignored")
            return
        payload = self.payloads.payload_for(data) or title
        if title and message.text:
            chosen = text("telegram", "chosen", title=title)
            await out._call("editMessageText", lambda: self.bot.edit_message_text(  # type: ignore[union-attr]
                chat_id=message.chat.id, message_id=message.message_id,
                text=f"{message.text}\n\n{chosen}"[:MAX_TEXT]))
        meta = self._metadata(message, telegram_callback=True)
        if query.from_user is not None:
            meta["telegram"]["user_id"] = query.from_user.id
        await on_new_message(UserMessage(
            payload, out, f"{CHANNEL}:{message.chat.id}", input_channel=CHANNEL,
            message_id=f"tg-cb-{query.id}", metadata=meta,
        ))


def _button_title(message: Message, data: str) -> Optional[str]:
    markup = message.reply_markup
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
