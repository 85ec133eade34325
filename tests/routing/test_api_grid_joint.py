"""Grid staff and joint handling over real HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Dict

import httpx
from sqlalchemy import select

from routing.auth import store_token
from routing.db import session_scope
from routing.models import AssistTask, Ticket
from routing.timeutil import utcnow

from tests.routing.conftest import Server

STAFF_ID = "telegram:700001"  # 周小敏, 桃子湖社区第一、第二网格
STATION = "430104001001-G01-WGZ"
ZJ_TOKEN = "staff-zj-token-0123456789abcdefghij"
ZRZY_TOKEN = "staff-zrzy-token-0123456789abcdefgh"
DESK_TOKEN = "staff-desk-token-0123456789abcdefgh"


def _tokens(server: Server) -> None:
    with session_scope(server.backend.factory) as session:
        store_token(session, ZJ_TOKEN, "staff", "430104-ZJ")
        store_token(session, ZRZY_TOKEN, "staff", "430104-ZRZY")
        store_token(session, DESK_TOKEN, "staff", "430104001-SLZX")


def _client(server: Server, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0)


def _create(server: Server, **kw: Any) -> Dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    body: Dict[str, Any] = {"text": f"桃子湖社区有人楼顶违章加盖 {tag}", "channel": "telegram",
                            "event_type": "illegal_construction", "location_text": "岳麓区岳麓街道桃子湖社区",
                            "reporter": {"name": "赵六", "channel_identity": f"telegram:{tag}"}}
    body.update(kw)
    with server.client("intake") as c:
        r = c.post("/api/tickets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_joint_handling_over_http(server: Server) -> None:
    _tokens(server)
    number = _create(server)["number"]
    with server.client("operator") as op, server.client("staff_street") as lead, \
            _client(server, ZJ_TOKEN) as zj, _client(server, ZRZY_TOKEN) as zr, _client(server, DESK_TOKEN) as desk:
        dispatched = op.post(f"/api/tickets/{number}/dispatch", json={"note": "城管牵头"}).json()
        assert dispatched["department"]["code"] == "430104001-ZFZD"
        assert {a["department"]["code"] for a in dispatched["assist_tasks"]} == {"430104-ZJ", "430104-ZRZY"}
        assert all(a["state"] == "open" and a["warning"] == "green" for a in dispatched["assist_tasks"])
        assert lead.post(f"/api/tickets/{number}/accept").status_code == 200
        # the lead's closure is refused while a task is open
        r = lead.post(f"/api/tickets/{number}/resolve", json={"reply": "已拆除"})
        assert r.status_code == 409 and r.json()["error"] == "assist_tasks_open"
        assert "协办" in r.json()["message"] and "430104-ZJ" in r.json()["message"]
        assert sorted(r.json()["details"]["open_assist_tasks"]) == ["430104-ZJ", "430104-ZRZY"]
        # the intake desk calls in one more department; an ordinary department may not
        added = desk.post(f"/api/tickets/{number}/assists", json={"department_code": "430104-GA", "note": "维持秩序"})
        assert added.status_code == 201 and added.json()["source"] == "manual"
        assert lead.post(f"/api/tickets/{number}/assists", json={"department_code": "430104-MZ"}).status_code == 403
        assert op.post(f"/api/tickets/{number}/assists", json={"department_code": "430104-GA"}).status_code == 409
        # the assisting department sees its task in its queue, and the ticket, but cannot work it
        queue = zj.get("/api/assist-tasks").json()["items"]
        assert number in {q["ticket"] for q in queue}
        assert {q["department"]["code"] for q in queue} == {"430104-ZJ"}
        assert zj.get(f"/api/tickets/{number}").status_code == 200
        assert zj.post(f"/api/tickets/{number}/accept").status_code == 404
        # an overdue assisting task (its deadline moved into the past)
        with session_scope(server.backend.factory) as session:
            task = session.execute(
                select(AssistTask).join(Ticket, AssistTask.ticket_id == Ticket.id)
                .where(Ticket.number == number, AssistTask.source == "catalogue")
                .order_by(AssistTask.id)).scalars().first()
            task.created_at = utcnow() - timedelta(days=30)
            task.deadline_at = utcnow() - timedelta(days=2)
            overdue_code = task.department.code
        assert overdue_code == "430104-ZJ"
        late = zj.get("/api/assist-tasks", params={"overdue": "true"}).json()["items"]
        assert number in {q["ticket"] for q in late} and all(q["warning"] == "red" for q in late)
        warnings = zj.get("/api/warnings").json()
        assert number in {a["ticket"] for a in warnings["assist_tasks"]}
        depts = {d["department_code"]: d for d in warnings["departments"]}
        assert depts["430104-ZJ"]["red"] >= 1 and depts["430104-ZJ"]["colour"] == "red"
        stats = zj.get("/api/stats").json()
        assert stats["assist_tasks"]["overdue"] >= 1
        assert {r["code"]: r for r in stats["overdue_by_department"]}["430104-ZJ"]["assist_overdue"] >= 1
        all_warnings = op.get("/api/warnings").json()
        assert number in {a["ticket"] for a in all_warnings["assist_tasks"]}
        # answer, waive, then the lead may resolve
        assert zr.post(f"/api/tickets/{number}/assists/430104-ZJ/answer", json={"reply": "x"}).status_code == 403
        ans = zj.post(f"/api/tickets/{number}/assists/430104-ZJ/answer", json={"reply": "已核查：无建设许可"})
        assert ans.status_code == 200 and ans.json()["state"] == "answered" and ans.json()["overdue"] is True
        assert zr.post(f"/api/tickets/{number}/assists/430104-ZRZY/answer", json={"reply": "无用地审批"}).status_code == 200
        assert lead.post(f"/api/tickets/{number}/resolve", json={"reply": "已拆除"}).status_code == 409
        r = lead.post(f"/api/tickets/{number}/assists/430104-GA/waive", json={"reason": "现场无冲突"})
        assert r.status_code == 200 and r.json()["state"] == "waived"
        assert lead.post(f"/api/tickets/{number}/assists/430104-GA/waive", json={"reason": "again"}).status_code == 409
        done = lead.post(f"/api/tickets/{number}/resolve", json={"reply": "已拆除"})
        assert done.status_code == 200 and done.json()["state"] == "resolved"
        tasks = op.get(f"/api/tickets/{number}/assists").json()
        assert {t["department"]["code"]: t["state"] for t in tasks} == {
            "430104-ZJ": "answered", "430104-ZRZY": "answered", "430104-GA": "waived"}
        kinds = [e["kind"] for e in op.get(f"/api/tickets/{number}/events").json()]
    assert kinds == ["created", "routed", "assist_added", "assist_added", "dispatch", "accept", "assist_added",
                     "assist_answered", "assist_answered", "assist_waived", "resolve"]


def test_staff_lookup_by_identity(server: Server) -> None:
    with server.client("intake") as bot:
        r = bot.get(f"/api/staff/by-identity/{STAFF_ID}")
        assert r.status_code == 200
        body = r.json()
        assert body["code"] == "WG-430104001001-01" and body["name"] == "周小敏"
        assert body["default_region"] == "430104001001-G01"
        assert [g["code"] for g in body["grids"]] == ["430104001001-G01", "430104001001-G02"]
        assert STATION in {d["code"] for d in body["departments"]}
        assert bot.get("/api/staff/by-identity/sms:+8613800001111").json()["code"] == body["code"]
        missing = bot.get("/api/staff/by-identity/telegram:424242")
        assert missing.status_code == 404 and missing.json()["error"] == "staff_not_found"
    with server.client("staff_edu") as other:
        assert other.get(f"/api/staff/by-identity/{STAFF_ID}").status_code == 403
    assert httpx.get(f"{server.base_url}/api/staff/by-identity/{STAFF_ID}").status_code == 401


def test_staff_report_and_resolve_on_the_spot(server: Server) -> None:
    with server.client("intake") as bot, server.client("operator") as op:
        r = bot.post(f"/api/staff/by-identity/{STAFF_ID}/reports",
                     json={"text": "一网格垃圾桶满溢", "event_type": "sanitation"})
        assert r.status_code == 201, r.text
        assert r.json()["region"]["code"] == "430104001001-G01" and r.json()["state"] == "received"
        assert r.json()["reporter"]["channel_identity"] == STAFF_ID
        r = bot.post(f"/api/staff/by-identity/{STAFF_ID}/reports",
                     json={"text": "楼道杂物堵塞", "event_type": "sanitation", "resolve_on_spot": True})
        assert r.status_code == 422 and r.json()["error"] == "note_required"
        before = op.get("/api/stats").json()
        r = bot.post(f"/api/staff/by-identity/{STAFF_ID}/reports",
                     json={"text": "楼道杂物堵塞", "event_type": "sanitation", "resolve_on_spot": True,
                           "note": "已现场清理"}, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        t = r.json()
        assert t["state"] == "closed" and t["department"]["code"] == STATION and t["resolution"] == "已现场清理"
        kinds = [e["kind"] for e in op.get(f"/api/tickets/{t['number']}/events").json()]
        assert kinds == ["created", "routed", "dispatch", "accept", "resolve", "close"]
        after = op.get("/api/stats").json()
        assert after["resolved_on_spot"] == before["resolved_on_spot"] + 1
        assert after["resolved_in_grid"] == before["resolved_in_grid"] + 1
        assert after["total"] == before["total"] + 1 and after["resolved_in_grid_rate"] is not None


def test_staff_todo_accept_progress_resolve_escalate(server: Server) -> None:
    a = _create(server, event_type="sanitation", text=f"垃圾清运不及时 {uuid.uuid4().hex[:6]}")["number"]
    b = _create(server, event_type="sanitation", text=f"垃圾站异味 {uuid.uuid4().hex[:6]}")["number"]
    base = f"/api/staff/by-identity/{STAFF_ID}"
    with server.client("operator") as op, server.client("intake") as bot:
        for n in (a, b):
            r = op.post(f"/api/tickets/{n}/dispatch", json={"department_code": STATION, "level": "grid"})
            assert r.status_code == 200, r.text
        todo = bot.get(f"{base}/tickets").json()
        assert {a, b} <= {t["number"] for t in todo["items"]}
        row = next(t for t in todo["items"] if t["number"] == a)
        assert row["state_name"] == "已分流" and row["excerpt"].startswith("垃圾清运不及时")
        assert "reporter" not in row and "original_text" not in row
        assert bot.post(f"{base}/tickets/{a}/accept").json()["state"] == "in_progress"
        assert bot.post(f"{base}/tickets/{a}/progress", json={"note": "已联系环卫"}).status_code == 200
        r = bot.post(f"{base}/tickets/{a}/resolve", json={"reply": "已清运"})
        assert r.status_code == 200 and r.json()["state"] == "resolved"
        assert bot.post(f"{base}/tickets/{b}/escalate", json={}).status_code == 422
        r = bot.post(f"{base}/tickets/{b}/escalate", json={"reason": "涉及整个片区，网格无法处置"})
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "escalated" and r.json()["level"] == "township"
        assert r.json()["department"]["code"] == "430104001-SLZX"
        todo = {t["number"] for t in bot.get(f"{base}/tickets").json()["items"]}
        assert a not in todo and b not in todo
        assert a in {t["number"] for t in bot.get(f"{base}/tickets", params={"state": "resolved"}).json()["items"]}
        # not this worker's ticket any more / unknown action
        assert bot.post(f"{base}/tickets/{b}/progress", json={"note": "x"}).status_code == 404
        assert bot.post(f"{base}/tickets/{a}/close").status_code == 404
        events = op.get(f"/api/tickets/{a}/events").json()
        assert [e["actor_role"] for e in events][-3:] == ["grid_staff"] * 3
        assert events[-1]["actor"].startswith("网格员 周小敏")
