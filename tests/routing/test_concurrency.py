"""Many tickets at once against the real server: unique numbers, no lost events."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict

import httpx

from tests.routing.conftest import Server

N_TICKETS = 60


def test_parallel_creation(server: Server) -> None:
    tag = uuid.uuid4().hex[:8]

    def create(i: int) -> Dict[str, Any]:
        body = {"text": f"并发测试 {tag} 第{i}单：路灯不亮", "channel": "web", "event_type": "municipal_facilities",
                "location_text": f"开福区湘雅路街道{tag}路{i}号", "reporter": {"channel_identity": f"web:{tag}-{i}"}}
        with httpx.Client(base_url=server.base_url, timeout=120,
                          headers={"Authorization": f"Bearer {server.tokens['intake']}",
                                   "Idempotency-Key": f"{tag}-{i}"}) as c:
            r = c.post("/api/tickets", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(create, range(N_TICKETS)))
    numbers = [r["number"] for r in results]
    assert len(set(numbers)) == N_TICKETS
    with server.client("operator") as op:
        listed = op.get("/api/tickets", params={"q": tag, "limit": 200}).json()
        assert listed["total"] == N_TICKETS
        for number in numbers:
            events = op.get(f"/api/tickets/{number}/events").json()
            assert [e["kind"] for e in events] == ["created", "routed"]


def test_parallel_actions_on_one_ticket(server: Server) -> None:
    with server.client("intake") as bot:
        number = bot.post("/api/tickets", json={
            "text": "并发操作测试", "channel": "web", "event_type": "landscaping",
            "location_text": f"开福区{uuid.uuid4().hex[:8]}"}).json()["number"]

    def dispatch(_: int) -> int:
        with httpx.Client(base_url=server.base_url, timeout=120,
                          headers={"Authorization": f"Bearer {server.tokens['operator']}"}) as c:
            return c.post(f"/api/tickets/{number}/dispatch").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = sorted(pool.map(dispatch, range(8)))
    assert codes == [200] + [409] * 7  # exactly one dispatch wins
    with server.client("operator") as op:
        kinds = [e["kind"] for e in op.get(f"/api/tickets/{number}/events").json()]
    assert kinds == ["created", "routed", "dispatch"]
