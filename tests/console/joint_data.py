"""Tickets with assisting tasks (joint handling) for the console tests, made through the real API:
a 违法建设 report in 岳麓街道 is led by 岳麓区岳麓街道综合执法中队 (430104001-ZFZD), and dispatching it
calls in 岳麓区住房和城乡建设局 (430104-ZJ) and 长沙市自然资源和规划局岳麓区分局 (430104-ZRZY)."""
from __future__ import annotations

import itertools
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from routing.db import session_scope
from routing.models import AssistTask, Department, Ticket
from routing.timeutil import utcnow

LEAD = "430104001-ZFZD"
ZJ, ZRZY = "430104-ZJ", "430104-ZRZY"
ZJ_NAME, ZRZY_NAME = "岳麓区住房和城乡建设局", "长沙市自然资源和规划局岳麓区分局"
_street_numbers = itertools.count(101)


def joint_ticket(server: Any, tag: str) -> str:
    """A dispatched 违法建设 ticket with the catalogue's two assisting tasks; its number."""
    # a street address (not a community) and a new house number: not a duplicate of another test's ticket
    place = f"岳麓区岳麓街道麓山南路{next(_street_numbers)}号"
    with server.client("intake") as intake:
        r = intake.post("/api/tickets", json={
            "text": f"{place}楼顶违章加盖（{tag}）", "channel": "hotline", "event_type": "illegal_construction",
            "location_text": place, "reporter": {"name": "赵六", "channel_identity": f"telegram:{uuid.uuid4().hex[:8]}"}})
        assert r.status_code == 201, r.text
        number = r.json()["number"]
        assert r.json()["duplicate_of"] is None, r.json()
    with server.client("operator") as op:
        r = op.post(f"/api/tickets/{number}/dispatch", json={})
        assert r.status_code == 200, r.text
    body = r.json()
    assert body["department"]["code"] == LEAD
    assert {a["department"]["code"] for a in body["assist_tasks"]} == {ZJ, ZRZY}
    return number


def make_overdue(server: Any, number: str, department_code: str, days: int = 3) -> None:
    """Move the task's deadline `days` into the past (it was created a month ago)."""
    with session_scope(server.backend.factory) as session:
        task = session.execute(
            select(AssistTask).join(Ticket, AssistTask.ticket_id == Ticket.id)
            .join(Department, AssistTask.department_id == Department.id)
            .where(Ticket.number == number, Department.code == department_code)).scalar_one()
        task.created_at = utcnow() - timedelta(days=30)
        task.deadline_at = utcnow() - timedelta(days=days)
