"""Keep secrets out of logs.

Libraries log URLs and errors that contain credentials: python-telegram-bot puts the bot token in
every Bot API URL (httpx logs them at INFO, PTB's own debug lines and its `InvalidToken` error
quote it), Twilio's client logs request URLs with the account SID. :func:`install` wraps the
logging record factory once per process so every record, whichever handler prints it and
whenever that handler was added, has the secrets replaced by ``[REDACTED]`` before it is
formatted — message, arguments and traceback text alike.

Secrets come from the environment variables in :data:`SECRET_ENV_VARS` (read at install time and
again by :func:`register_secret`) plus patterns that look like credentials whatever their source
(Telegram bot tokens, ``Authorization`` header values, ``secret_token=…`` parameters).
"""
from __future__ import annotations

import logging
import os
import re
import threading
from typing import Iterable, List, Optional, Pattern, Set, Tuple

REDACTED = "[REDACTED]"
SECRET_ENV_VARS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_API_KEY_SECRET",
    "ROUTING_TOKEN",
)
MIN_SECRET_LENGTH = 6

_PATTERNS: List[Tuple[Pattern[str], str]] = [
    # Telegram bot tokens: <bot id>:<35 characters>
    (re.compile(r"(?<![0-9])\d{5,16}:[A-Za-z0-9_-]{30,}"), REDACTED),
    # Authorization header values
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|basic|token)\s+)[^\s\"',}]+"),
     r"\1" + REDACTED),
    # user:password@ in URLs
    (re.compile(r"(://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
    # secret_token / auth_token / api_key / password parameters
    (re.compile(r"(?i)((?:secret_token|auth_token|api_key|apikey|password)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"),
     r"\1" + REDACTED),
]

_lock = threading.Lock()
_secrets: Set[str] = set()
_installed = False


def register_secret(value: Optional[str]) -> None:
    """Redact `value` from every later log record (values shorter than 6 characters are ignored:
    redacting them would mangle ordinary words)."""
    if value and len(value.strip()) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value.strip())


def register_env_secrets(names: Iterable[str] = SECRET_ENV_VARS) -> None:
    for name in names:
        register_secret(os.environ.get(name))


def redact(text: str) -> str:
    """`text` with every known secret and every credential-looking pattern replaced."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is not our problem; keep the raw message
        message = str(record.msg)
    cleaned = redact(message)
    if cleaned != message:
        record.msg = cleaned
        record.args = ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """The same redaction as a filter, for handlers configured elsewhere (e.g. dictConfig)."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record)
        return True


def install() -> None:
    """Redact secrets from every log record of this process (idempotent)."""
    global _installed
    register_env_secrets()
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):  # type: ignore[no-untyped-def]
        record = previous(*args, **kwargs)
        _redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    # Records made before the factory was installed but handled later are rare; handlers that
    # exist now also get the filter so nothing slips through them.
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
