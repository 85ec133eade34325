"""The channel test stack: the real rasa server (trained model, our channels registered with test
secrets), the real action server behind a recording proxy, the real routing backend, and local
fakes of the Telegram Bot API and the Twilio REST API. Started once per session.

Processes are started with the helpers of tests/support/processes.py; only the credentials,
endpoints and environment differ from the shared `stack` fixture.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterator

import pytest
import yaml

from tests.channels.fakes import ActionProxy, FakeTelegram, FakeTwilioRest
from tests.channels.testenv import (
    PUBLIC_BASE_URL, ROUTING_TOKEN, SMS_FROM, TELEGRAM_SECRET, TELEGRAM_TOKEN, TWILIO_SID, TWILIO_TOKEN, ChannelStack,
)
from tests.support.processes import (
    actions_command, backend_command, backend_env, base_env, free_port,
    rasa_command, running, wait_until_up,
)

CHANNELS = {
    "channels.rest.RestInput": None,
    "channels.telegram.TelegramInput": None,
    "channels.twilio_voice.TwilioVoiceInput": None,
    "channels.twilio_sms.TwilioSmsInput": None,
    "channels.webchat.WebchatInput": None,
}


def channel_env(work: Path, telegram: FakeTelegram, twilio: FakeTwilioRest, routing_url: str) -> Dict[str, str]:
    return {
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram.url,
        "TELEGRAM_MAX_FILE_BYTES": "5000000",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_BASE_URL": twilio.url,
        "TWILIO_SMS_FROM": SMS_FROM,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "ROUTING_URL": routing_url,
        "ROUTING_TOKEN": ROUTING_TOKEN,
        "SMS_OPTOUT_PATH": str(work / "sms_optout.sqlite3"),
        "CHANNEL_DRAFT_FALLBACK_PATH": str(work / "undelivered_drafts.jsonl"),
        "SMS_MAX_SEGMENTS": "2",
        "VOICE_OPERATOR_NUMBER": "+8673112345",
    }


@pytest.fixture(scope="session")
def channel_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    work = tmp_path_factory.mktemp("channels")
    backend_port, actions_port, rasa_port = free_port(), free_port(), free_port()
    routing_url = f"http://127.0.0.1:{backend_port}"
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    twilio = FakeTwilioRest(TWILIO_SID, TWILIO_TOKEN).start()
    proxy = ActionProxy(f"http://127.0.0.1:{actions_port}").start()
    env = channel_env(work, telegram, twilio, routing_url)

    credentials = work / "credentials.yml"
    credentials.write_text(yaml.safe_dump(CHANNELS), encoding="utf-8")
    endpoints = work / "endpoints.yml"
    endpoints.write_text(yaml.safe_dump({"action_endpoint": {"url": f"{proxy.url}/webhook"}}), encoding="utf-8")
    # --debug and library logs at DEBUG: the most verbose logs, for the secrets-in-logs test.
    rasa_cmd = rasa_command(rasa_model, rasa_port, credentials, endpoints) + ["--debug"]
    b_env = backend_env(backend_port, f"sqlite:///{work / 'routing.db'}", **env)
    b_env["ROUTING_LOG_LEVEL"] = "info"
    try:
        # rasa loads its model while the backend and the action server start
        with running("rasa", rasa_cmd, rasa_port, "/status", work,
                     base_env(LOG_LEVEL_LIBRARIES="DEBUG", **env), wait=False) as rasa, \
             running("backend", backend_command(), backend_port, "/healthz", work, b_env) as backend, \
             running("actions", actions_command(actions_port), actions_port, "/health", work,
                     base_env(ROUTING_URL=routing_url, ROUTING_TOKEN=ROUTING_TOKEN,
                              RASA_URL=f"http://127.0.0.1:{rasa_port}",
                              ACTIONS_OUTBOX_PATH=str(work / "outbox.db"))) as actions:
            wait_until_up(rasa, "/status")
            yield ChannelStack(rasa, actions, backend, telegram, twilio, proxy, work, env)
    finally:
        proxy.stop()
        twilio.stop()
        telegram.stop()

