"""Secrets never appear in the logs of the real processes.

The rasa server runs with --debug and library logs at DEBUG (python-telegram-bot and httpx log
Bot API URLs, which contain the bot token; PTB's errors quote it). This module runs after the
other channel tests of the session (alphabetical order) so their traffic is in the logs too, and
makes its own: a webhook with a wrong secret, an update that makes PTB call the API, a
notification from the backend.
"""
from __future__ import annotations

import httpx

from tests.channels.fakes import wait_for
from tests.channels.helpers import COMPLAINT, next_id, post_update, signed_post, sms_params, tg_text
from tests.channels.testenv import SECRETS, TELEGRAM_SECRET, TELEGRAM_TOKEN, TWILIO_TOKEN, ChannelStack


def test_no_secret_in_any_process_log(channel_stack: ChannelStack):
    chat = next_id()
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT), secret=TELEGRAM_SECRET + "x").status_code == 403
    assert post_update(channel_stack.url, tg_text(chat, COMPLAINT)).status_code == 200
    signed_post(channel_stack.url, "/webhooks/twilio_sms/webhook", sms_params("+8613912340000", "帮助"))
    signed_post(channel_stack.url, "/webhooks/twilio_sms/webhook", sms_params("+8613912340000", "帮助"), token="bad")
    r = httpx.post(f"{channel_stack.backend.url}/api/tickets", timeout=30,
                   headers={"Authorization": "Bearer dev-intake-token"},
                   json={"text": "楼下烧烤店噪音扰民", "channel": "telegram", "event_type": "noise_pollution",
                         "location_text": "岳麓区岳麓街道桃子湖社区", "reporter": {"channel_identity": f"telegram:{chat}"}})
    number = r.json()["number"]
    with channel_stack.operator() as client:
        client.post(f"/api/tickets/{number}/dispatch", json={})
    wait_for(lambda: len(channel_stack.telegram.sent("sendMessage", chat)) >= 2, what="notification")

    logs = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in channel_stack.work_dir.glob("*.log")}
    assert {"rasa.log", "backend.log", "actions.log"} <= set(logs)
    for name, text in logs.items():
        for secret in SECRETS:
            assert secret not in text, f"{name} contains a secret"
        # also no fragment long enough to be useful
        assert TELEGRAM_TOKEN.split(":")[1] not in text, f"{name} contains the token's secret part"
    assert TWILIO_TOKEN not in str(channel_stack.tracker(f"telegram:{chat}"))
    assert "[REDACTED]" in logs["rasa.log"]  # the redaction really ran on real log lines
