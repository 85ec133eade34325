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


# What the form may ask (a phrase of its question) → the resident's answer.
DEFAULT_ANSWERS = {"在哪里": "幸福小区", "哪一方": "楼下KTV", "什么时候": "每天晚上十点以后",
                   "联系电话": "13812345678"}
SUMMARY = "我跟您核对一下"


def answer_until_summary(chat: Chat, replies: List[Dict[str, Any]], **answers: str) -> Dict[str, Any]:
    """Answers the form's questions (whichever the model left open) until the read-back."""
    table = {**DEFAULT_ANSWERS, **{k.replace("_", ""): v for k, v in answers.items()}}
    for _ in range(6):
        last = replies[-1].get("text", "") if replies else ""
        if last.startswith(SUMMARY):
            return replies[-1]
        key = next((k for k in table if k in last), None)
        assert key, f"unexpected question {last!r}; transcript:\n" + "\n".join(chat.transcript)
        replies = chat.say(table[key])
    raise AssertionError("no read-back; transcript:\n" + "\n".join(chat.transcript))


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
