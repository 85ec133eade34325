"""A small driver for conversations over the REST channel of the real stack: send a message, get
the bot's replies, look at the tracker (actions run, slots) and at the backend (tickets)."""
from __future__ import annotations

import time
import uuid
from typing import Any, Dict, List, Optional

import httpx

OPERATOR = {"Authorization": "Bearer dev-operator-token"}
REQUEST_TIMEOUT = 120  # hang guard


class Chat:
    def __init__(self, stack, sender: Optional[str] = None, metadata: Optional[Dict[str, Any]] = None):
        self.stack = stack
        self.sender = sender or f"c-{uuid.uuid4().hex[:12]}"
        self.metadata = metadata
        self.transcript: List[str] = []

    def say(self, text: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        body: Dict[str, Any] = {"sender": self.sender, "message": text}
        if metadata or self.metadata:
            body["metadata"] = {**(self.metadata or {}), **(metadata or {})}
        r = httpx.post(f"{self.stack.rasa.url}/webhooks/rest/webhook", json=body, timeout=REQUEST_TIMEOUT)
        r.raise_for_status()
        replies = r.json()
        self.transcript += [f"> {text}"] + [f"< {m.get('text', '')}" for m in replies]
        return replies

    def texts(self, text: str, **kw: Any) -> List[str]:
        return [m.get("text", "") for m in self.say(text, **kw)]

    def tracker(self) -> Dict[str, Any]:
        r = httpx.get(f"{self.stack.rasa.url}/conversations/{self.sender}/tracker", timeout=REQUEST_TIMEOUT)
        r.raise_for_status()
        return r.json()

    def slot(self, name: str) -> Any:
        return self.tracker()["slots"].get(name)

    def actions(self) -> List[str]:
        return [e["name"] for e in self.tracker()["events"] if e.get("event") == "action"]

    def bot_texts(self) -> List[str]:
        return [e.get("text") or "" for e in self.tracker()["events"] if e.get("event") == "bot"]

    def wait_for_bot_text(self, needle: str, timeout: float = 120.0) -> str:
        """Messages that arrive later (outbox delivery) land in the tracker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for text in self.bot_texts():
                if needle in text:
                    return text
            time.sleep(0.5)
        raise AssertionError(f"no bot message with {needle!r}; transcript:\n" + "\n".join(self.transcript))


def ticket(stack, number: str) -> Dict[str, Any]:
    r = httpx.get(f"{stack.backend.url}/api/tickets/{number}", headers=OPERATOR, timeout=30)
    r.raise_for_status()
    return r.json()


def tickets_of(stack, identity: str) -> List[Dict[str, Any]]:
    r = httpx.get(f"{stack.backend.url}/api/reporter/tickets", params={"channel_identity": identity},
                  headers={"Authorization": "Bearer dev-intake-token"}, timeout=30)
    r.raise_for_status()
    return r.json()


def operator_act(stack, number: str, action: str, **body: Any) -> Dict[str, Any]:
    r = httpx.post(f"{stack.backend.url}/api/tickets/{number}/{action}", headers=OPERATOR, json=body or None,
                   timeout=30)
    r.raise_for_status()
    return r.json()


def resolve(stack, number: str, reply: str) -> None:
    operator_act(stack, number, "dispatch")
    operator_act(stack, number, "accept")
    operator_act(stack, number, "resolve", reply=reply)
