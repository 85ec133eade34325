"""Never lose a report: the backend dies mid-conversation; the confirmed report waits in the
action server's outbox, is delivered once the backend is back — exactly one ticket — and the
resident gets the number in their conversation."""
from __future__ import annotations

import sqlite3
import subprocess
import uuid
from urllib.parse import urlparse

import httpx

from tests.support.processes import ROOT, backend_command, backend_env, wait_until_up

INTAKE = {"Authorization": "Bearer dev-intake-token"}


def _say(stack, sender: str, text: str) -> list:
    r = httpx.post(f"{stack.rasa.url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                   timeout=120)
    r.raise_for_status()
    return [m.get("text", "") for m in r.json()]


def _restart_backend(stack) -> None:
    """Same port, same database: the backend comes back as it was."""
    port = urlparse(stack.backend.url).port
    env = backend_env(port, f"sqlite:///{stack.work_dir / 'routing.db'}")
    with open(stack.backend.log, "ab") as out:
        stack.backend.process = subprocess.Popen(backend_command(), cwd=ROOT, env=env, stdout=out,
                                                 stderr=subprocess.STDOUT)
    wait_until_up(stack.backend, "/healthz")


def _bot_texts(stack, sender: str) -> list:
    tracker = httpx.get(f"{stack.rasa.url}/conversations/{sender}/tracker", timeout=60).json()
    return [e.get("text") or "" for e in tracker["events"] if e.get("event") == "bot"]


def test_backend_killed_mid_conversation_loses_and_duplicates_nothing(stack):
    import time

    sender = f"outage-{uuid.uuid4().hex[:10]}"
    identity = f"rest:{sender}"
    replies = _say(stack, sender, "岳麓区桃子湖社区门口的垃圾站好几天没人清运了，臭得不行")
    answers = {"在哪里": "桃子湖社区门口的垃圾站", "联系电话": "13700002222"}
    for _ in range(4):  # answer whatever the form still asks
        if replies[-1].startswith("我跟您核对一下"):
            break
        replies = _say(stack, sender, next(v for k, v in answers.items() if k in replies[-1]))
    assert replies[-1].startswith("我跟您核对一下")

    stack.backend.stop()  # the backend dies before the resident confirms
    try:
        queued = _say(stack, sender, "确认")
        assert queued[0].startswith("您的反映已经记录下来了")
        with sqlite3.connect(stack.work_dir / "outbox.db") as db:
            rows = db.execute("SELECT conversation_id, delivered_at FROM outbox WHERE conversation_id = ?",
                              (sender,)).fetchall()
        assert rows == [(sender, None)]
    finally:
        _restart_backend(stack)

    # the worker delivers (retrying with backoff) and the resident hears the number
    deadline = time.monotonic() + 180  # hang guard
    announced = None
    while time.monotonic() < deadline and announced is None:
        announced = next((t for t in _bot_texts(stack, sender) if t.startswith("您刚才反映的问题已登记")), None)
        time.sleep(0.5)
    assert announced, _bot_texts(stack, sender)

    mine = httpx.get(f"{stack.backend.url}/api/reporter/tickets", params={"channel_identity": identity},
                     headers=INTAKE, timeout=30).json()
    assert len(mine) == 1
    assert mine[0]["number"] in announced and mine[0]["event_type"] == "sanitation"
    # the worker keeps running: nothing is delivered twice
    time.sleep(3)
    mine = httpx.get(f"{stack.backend.url}/api/reporter/tickets", params={"channel_identity": identity},
                     headers=INTAKE, timeout=30).json()
    assert len(mine) == 1
    with sqlite3.connect(stack.work_dir / "outbox.db") as db:
        (row,) = db.execute("SELECT ticket_number, notified_at FROM outbox WHERE conversation_id = ?",
                            (sender,)).fetchall()
    assert row[0] == mine[0]["number"] and row[1] is not None
    assert sum(t.startswith("您刚才反映的问题已登记") for t in _bot_texts(stack, sender)) == 1
