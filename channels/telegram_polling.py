"""Long polling for local use: no public URL needed.

    python -m channels.telegram_polling [--rasa-url http://127.0.0.1:5005]

Fetches updates with python-telegram-bot's ``Bot.get_updates`` and forwards each one, as Bot API
JSON, to the rasa server's Telegram webhook (``/webhooks/telegram/webhook``) with the webhook
secret — the very path real webhooks take, so everything the channel does works the same. The
webhook registered with Telegram (if any) is deleted first: Telegram refuses getUpdates while a
webhook is set. Needs TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (the rasa server must have
the same); TELEGRAM_API_BASE_URL as for the channel. Stop with Ctrl-C.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any, Dict, Optional

import httpx
from telegram.error import NetworkError, TelegramError, TimedOut

from channels import logsafe
from channels.telegram_bot import ALLOWED_UPDATES, SECRET_HEADER, make_bot

logger = logging.getLogger("channels.telegram_polling")


class Forwarder:
    def __init__(self, rasa_url: str, secret: str, timeout: float = 60.0):
        self.url = rasa_url.rstrip("/") + "/webhooks/telegram/webhook"
        self.secret = secret
        self.client = httpx.AsyncClient(timeout=timeout)

    async def forward(self, update: Dict[str, Any]) -> bool:
        """True when the rasa server took the update (2xx)."""
        r = await self.client.post(self.url, json=update, headers={SECRET_HEADER: self.secret})
        if r.status_code == 403:
            raise SystemExit("the rasa server refused the webhook secret: TELEGRAM_WEBHOOK_SECRET differs")
        if r.status_code >= 500:
            logger.warning("rasa server answered %s; will retry the update", r.status_code)
            return False
        return True

    async def close(self) -> None:
        await self.client.aclose()


async def run(rasa_url: str, token: str, secret: str, api_base_url: Optional[str], poll_timeout: int,
              stop: asyncio.Event) -> None:
    forwarder = Forwarder(rasa_url, secret)
    backoff = 1.0
    async with make_bot(token, api_base_url) as bot:
        me = await bot.get_me()
        await bot.delete_webhook(drop_pending_updates=False)
        logger.info("polling as @%s, forwarding to %s", me.username, forwarder.url)
        offset: Optional[int] = None
        try:
            while not stop.is_set():
                try:
                    updates = await bot.get_updates(offset=offset, timeout=poll_timeout,
                                                    allowed_updates=ALLOWED_UPDATES)
                    backoff = 1.0
                except (TimedOut, NetworkError) as exc:
                    logger.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
                    await _sleep(stop, backoff)
                    backoff = min(backoff * 2, 60)
                    continue
                for update in updates:
                    try:
                        delivered = await forwarder.forward(update.to_dict())
                    except httpx.HTTPError as exc:
                        logger.warning("rasa server unreachable (%s); retrying in %.0f s", exc, backoff)
                        delivered = False
                    if not delivered:
                        await _sleep(stop, backoff)
                        backoff = min(backoff * 2, 60)
                        break  # fetch again from this update on
                    offset = update.update_id + 1
        finally:
            await forwarder.close()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_rasa = os.environ.get("RASA_URL") or f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}"
    parser.add_argument("--rasa-url", default=default_rasa, help=f"the rasa server (default {default_rasa})")
    parser.add_argument("--poll-timeout", type=int, default=30, help="long-poll seconds per getUpdates")
    args = parser.parse_args(argv)
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
    if not token or not secret:
        print("set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET (the rasa server needs the same)", file=sys.stderr)
        return 2
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logsafe.install()

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except NotImplementedError:  # pragma: no cover - Windows
                pass
        await run(args.rasa_url, token, secret, os.environ.get("TELEGRAM_API_BASE_URL"), args.poll_timeout, stop)

    try:
        asyncio.run(runner())
    except TelegramError as exc:
        print(f"Telegram error: {logsafe.redact(str(exc))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
