"""python-telegram-bot helpers without rasa: the Bot for a token and API URL, and Bot API limits.

Used by the channel (rasa server), the polling runner, the admin command and the routing
backend's notifier — the last three must not import rasa.
"""
from __future__ import annotations

import os
from typing import List, Optional

from telegram import Bot
from telegram.request import HTTPXRequest

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_API_BASE = "https://api.telegram.org"
DEFAULT_MAX_FILE_BYTES = 10_000_000  # the routing backend's default attachment limit
MAX_TEXT = 4096                      # Bot API limit for one message
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def make_bot(token: str, api_base_url: Optional[str] = None) -> Bot:
    """A PTB Bot for `token`, talking to `api_base_url` (default: Telegram's)."""
    root = (api_base_url or DEFAULT_API_BASE).rstrip("/")
    request = HTTPXRequest(connection_pool_size=16, pool_timeout=5.0, read_timeout=10.0)
    return Bot(token=token, base_url=f"{root}/bot", base_file_url=f"{root}/file/bot", request=request)


def chat_id_of(recipient_id: str) -> int:
    """`telegram:12345` or `12345` → 12345."""
    raw = recipient_id.split(":", 1)[1] if recipient_id.startswith(CHANNEL + ":") else recipient_id
    return int(raw)


def split_text(body: str, limit: int = MAX_TEXT) -> List[str]:
    """Telegram refuses messages over 4096 characters: cut at line ends where possible."""
    parts: List[str] = []
    rest = body
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        parts.append(rest)
    return parts


async def download_attachment(file_id: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
                              token: Optional[str] = None, api_base_url: Optional[str] = None) -> bytes:
    """The bytes of a Telegram file (for the actions, to attach it to the ticket).

    Token and API URL default to the environment. Refuses files over `max_bytes`. The file URL
    contains the bot token: it is never returned or logged.
    """
    token = token or os.environ.get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise RuntimeError("TELEGRAM_BOT_TOKEN is not set")
    from channels import logsafe

    logsafe.register_secret(token)
    logsafe.install()
    async with make_bot(token, api_base_url or os.environ.get("TELEGRAM_API_BASE_URL")) as bot:
        file = await bot.get_file(file_id)
        if file.file_size is not None and file.file_size > max_bytes:
            raise ValueError(f"file is {file.file_size} bytes, over the limit of {max_bytes}")
        data = bytes(await file.download_as_bytearray())
    if len(data) > max_bytes:
        raise ValueError(f"file is {len(data)} bytes, over the limit of {max_bytes}")
    return data

