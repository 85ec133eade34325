"""Settings of the channel test stack (test secrets, URLs) and its handle, shared by the tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict

import httpx

from tests.channels.fakes import ActionProxy, FakeTelegram, FakeTwilioRest
from tests.support.processes import RunningProcess

# Test secrets. They look like real ones so the log-redaction test means something.
TELEGRAM_TOKEN = "7000000001:AAE-test-token-0123456789abcdefghijkl"
TELEGRAM_SECRET = "tg-webhook-secret-Q7f3kP9x"
TWILIO_SID = "AC" + "7e57" * 8
TWILIO_TOKEN = "twilio-auth-token-5b1c9e2f7a"
ROUTING_TOKEN = "dev-intake-token"
PUBLIC_BASE_URL = "https://petition.example.org"
SMS_FROM = "+8673100012345"
SECRETS = (TELEGRAM_TOKEN, TELEGRAM_SECRET, TWILIO_TOKEN)


@dataclass
class ChannelStack:
    rasa: RunningProcess
    actions: RunningProcess
    backend: RunningProcess
    telegram: FakeTelegram
    twilio: FakeTwilioRest
    proxy: ActionProxy
    work_dir: Path
    env: Dict[str, str]

    @property
    def url(self) -> str:
        return self.rasa.url

    def tracker(self, sender_id: str) -> dict:
        r = httpx.get(f"{self.rasa.url}/conversations/{sender_id}/tracker", timeout=30)
        r.raise_for_status()
        return r.json()

    def user_events(self, sender_id: str) -> list:
        return [e for e in self.tracker(sender_id).get("events", []) if e.get("event") == "user"]

    def bot_events(self, sender_id: str) -> list:
        return [e for e in self.tracker(sender_id).get("events", []) if e.get("event") == "bot"]

    def operator(self) -> httpx.Client:
        return httpx.Client(base_url=self.backend.url, timeout=30,
                            headers={"Authorization": "Bearer dev-operator-token"})

    def ticket(self, number: str) -> dict:
        """The ticket as an operator sees it."""
        with self.operator() as client:
            r = client.get(f"/api/tickets/{number}")
            r.raise_for_status()
            return r.json()


