"""Register the rasa server's webhook with Telegram, or remove it.

    python -m channels.telegram_admin set-webhook [--url URL]
    python -m channels.telegram_admin delete-webhook
    python -m channels.telegram_admin info

``set-webhook`` defaults to ``$PUBLIC_BASE_URL/webhooks/telegram/webhook`` and sends
``TELEGRAM_WEBHOOK_SECRET`` as the secret token Telegram will put in every update's
``X-Telegram-Bot-Api-Secret-Token`` header. Uses python-telegram-bot against
``TELEGRAM_API_BASE_URL`` (default Telegram's).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Optional

from telegram.error import TelegramError

from channels import logsafe
from channels.telegram_bot import ALLOWED_UPDATES, make_bot

WEBHOOK_PATH = "/webhooks/telegram/webhook"


async def _run(command: str, url: Optional[str]) -> int:
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        print("set TELEGRAM_BOT_TOKEN", file=sys.stderr)
        return 2
    async with make_bot(token, os.environ.get("TELEGRAM_API_BASE_URL")) as bot:
        if command == "set-webhook":
            secret = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
            base = os.environ.get("PUBLIC_BASE_URL", "").strip()
            url = url or (base.rstrip("/") + WEBHOOK_PATH if base else None)
            if not secret or not url:
                print("set TELEGRAM_WEBHOOK_SECRET and PUBLIC_BASE_URL (or pass --url)", file=sys.stderr)
                return 2
            if not url.startswith("https://"):
                print("warning: Telegram only delivers webhooks to https:// URLs", file=sys.stderr)
            await bot.set_webhook(url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES,
                                  drop_pending_updates=False)
            print(f"webhook set: {url}")
        elif command == "delete-webhook":
            await bot.delete_webhook(drop_pending_updates=False)
            print("webhook deleted")
        else:
            info = await bot.get_webhook_info()
            print(f"url: {info.url or '(none)'}\npending updates: {info.pending_update_count}")
            if info.last_error_message:
                print(f"last error: {info.last_error_message}")
    return 0


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["set-webhook", "delete-webhook", "info"])
    parser.add_argument("--url", help="webhook URL (default $PUBLIC_BASE_URL" + WEBHOOK_PATH + ")")
    args = parser.parse_args(argv)
    logsafe.install()
    try:
        return asyncio.run(_run(args.command, args.url))
    except TelegramError as exc:
        print(f"Telegram error: {logsafe.redact(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
