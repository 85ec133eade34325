"""Joint handling (中心吹哨、部门报到): default assisting tasks from the catalogue, the lead's
resolve refused while a task is open, answer / waive, overdue tasks in the statistics."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import joint
from routing.auth import Actor
from routing.catalog import load_catalog
from routing.errors import Conflict, Forbidden, Invalid, NotFound
from routing.models import Department
from routing.service import TicketService
from routing.settings import Settings
from routing.stats import compute_stats

from helpers import OPERATOR, cst, make

T0 = cst(2022, 6, 6, 9)  # a window no other test uses
PLACE = "岳麓区岳麓街道桃子湖社区"


def _dept(db: Session, code: str) -> Department:
    return db.execute(select(Department).where(Department.code == code)).scalar_one()


def _staff(db: Session, code: str) -> Actor:
    return Actor(name=f"staff@{code}", role="staff", department_id=_dept(db, code).id)


def _construction(db: Session, settings: Settings, now=T0):  # type: ignore[no-untyped-def]
    return make(db, settings, now, text="桃子湖社区有人在楼顶违章加盖两层", event_type="illegal_construction",
                location_text=PLACE)


def test_default_assisting_from_catalogue(db: Session, settings: Settings) -> None:
    t = _construction(db, settings)
    assert t.department.code == "430104001-ZFZD"  # the lead: the street's 综合执法中队
    found = joint.default_assisting(db, load_catalog(), t, t.department)
    # the most local department of each catalogue `assisting` kind serving the region
    assert [d.code for d in found] == ["430104-ZJ", "430104-ZRZY"]
    assert t.assist_tasks == []  # tasks are created on dispatch
    s = TicketService(db, settings)
    s.act(OPERATOR, t.number, "dispatch", {}, now=T0 + timedelta(hours=1))
    tasks = {a.department.code: a for a in t.assist_tasks}
    assert set(tasks) == {"430104-ZJ", "430104-ZRZY"}
    assert all(a.state == "open" and a.source == "catalogue" for a in tasks.values())
    # the type's SLA (15 working days), counted from the dispatch
    assert tasks["430104-ZJ"].deadline_at > t.created_at + timedelta(days=15)
    kinds = [e.kind for e in t.events]
    assert kinds == ["created", "routed", "assist_added", "assist_added", "dispatch"]
    dispatch = t.events[-1]
    assert dispatch.data["assisting"] == ["430104-ZJ", "430104-ZRZY"]
    # re-dispatching (after a return) never duplicates a task
    s.act(OPERATOR, t.number, "return", {"reason": "派错"}, now=T0 + timedelta(hours=2))
    s.act(OPERATOR, t.number, "dispatch", {"department_code": "430104001-ZFZD"}, now=T0 + timedelta(hours=3))
    assert len(t.assist_tasks) == 2


def test_no_assisting_for_single_department_types(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, event_type="school_fees", location_text="芙蓉区文艺路街道")
    TicketService(db, settings).act(OPERATOR, t.number, "dispatch", {}, now=T0)
    assert t.assist_tasks == [] and [e.kind for e in t.events] == ["created", "routed", "dispatch"]


def test_resolve_refused_until_answered_or_waived(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    t = _construction(db, settings)
    lead = _staff(db, "430104001-ZFZD")
    s.act(OPERATOR, t.number, "dispatch", {}, now=T0)
    s.act(lead, t.number, "accept", {}, now=T0)
    with pytest.raises(Conflict) as info:
        s.act(lead, t.number, "resolve", {"reply": "已拆除"}, now=T0 + timedelta(days=1))
    assert info.value.code == "assist_tasks_open" and info.value.status == 409
    assert "430104-ZJ" in info.value.message and "协办" in info.value.message
    assert t.state == "in_progress"
    # the assisting department answers; another department cannot answer for it
    with pytest.raises(Forbidden):
        joint.answer_task(s, _staff(db, "430104-ZRZY"), t.number, "430104-ZJ", "不是我的")
    with pytest.raises(Invalid):
        joint.answer_task(s, _staff(db, "430104-ZJ"), t.number, "430104-ZJ", "  ")
    zj = joint.answer_task(s, _staff(db, "430104-ZJ"), t.number, "430104-ZJ", "已核查：无规划许可",
                           now=T0 + timedelta(days=1))
    assert zj.state == "answered" and zj.reply == "已核查：无规划许可"
    with pytest.raises(Conflict):
        joint.answer_task(s, _staff(db, "430104-ZJ"), t.number, "430104-ZJ", "再答一次")
    with pytest.raises(Conflict):  # one task still open
        s.act(lead, t.number, "resolve", {"reply": "已拆除"}, now=T0 + timedelta(days=1))
    # waiving: a reason is required; the assisting department itself may not waive
    with pytest.raises(Invalid):
        joint.waive_task(s, lead, t.number, "430104-ZRZY", "")
    with pytest.raises(Forbidden):
        joint.waive_task(s, _staff(db, "430104-ZRZY"), t.number, "430104-ZRZY", "不想办")
    zr = joint.waive_task(s, lead, t.number, "430104-ZRZY", "不涉及用地审批", now=T0 + timedelta(days=1))
    assert zr.state == "waived" and zr.waive_reason == "不涉及用地审批"
    s.act(lead, t.number, "resolve", {"reply": "已拆除"}, now=T0 + timedelta(days=2))
    assert t.state == "resolved"
    kinds = [e.kind for e in t.events]
    assert kinds[-3:] == ["assist_answered", "assist_waived", "resolve"]


def test_add_department_by_operator_and_intake_desk(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    t = _construction(db, settings)
    s.act(OPERATOR, t.number, "dispatch", {}, now=T0)
    task = joint.add_task(s, OPERATOR, t.number, "430104-GA", "协助维持现场秩序", now=T0)
    assert task.source == "manual" and task.note == "协助维持现场秩序"
    assert t.events[-1].kind == "assist_added" and t.events[-1].data["department"] == "430104-GA"
    desk = _staff(db, "430104001-SLZX")  # the street's 综治中心 serves the ticket's region
    assert joint.add_task(s, desk, t.number, "430104-SJ", None, now=T0).department.code == "430104-SJ"
    with pytest.raises(NotFound):  # another street's desk: not its ticket
        joint.add_task(s, _staff(db, "430102001-SLZX"), t.number, "430104-MZ", None)
    with pytest.raises(Forbidden):  # an ordinary department may not call others in
        joint.add_task(s, _staff(db, "430104001-ZFZD"), t.number, "430104-MZ", None)
    with pytest.raises(Conflict):
        joint.add_task(s, OPERATOR, t.number, "430104-GA", None)  # already assisting
    with pytest.raises(Conflict):
        joint.add_task(s, OPERATOR, t.number, "430104001-ZFZD", None)  # the lead
    with pytest.raises(Conflict):
        joint.add_task(s, OPERATOR, t.number, "430104-SLZX", None)  # an intake desk


def test_assisting_department_sees_but_cannot_work_the_ticket(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    t = _construction(db, settings)
    s.act(OPERATOR, t.number, "dispatch", {}, now=T0)
    zj = _staff(db, "430104-ZJ")
    s.check_visible(zj, t, allow_assisting=True)
    with pytest.raises(NotFound):
        s.act(zj, t.number, "accept", {})
    queue = joint.department_tasks(db, zj.department_id)
    assert t.number in {q.ticket.number for q in queue}
    assert all(q.department_id == zj.department_id for q in queue)


def test_overdue_assisting_task_counts_against_its_department(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    t = _construction(db, settings)
    s.act(OPERATOR, t.number, "dispatch", {}, now=T0)
    tasks = {a.department.code: a for a in t.assist_tasks}
    late = tasks["430104-ZJ"].deadline_at + timedelta(days=1)
    assert joint.is_task_overdue(tasks["430104-ZJ"], late)
    assert joint.task_colour(tasks["430104-ZJ"], late) == "red"
    assert joint.task_colour(tasks["430104-ZJ"], T0 + timedelta(hours=1)) == "green"
    joint.answer_task(s, _staff(db, "430104-ZRZY"), t.number, "430104-ZRZY", "已答复", now=T0 + timedelta(days=1))
    assert not joint.is_task_overdue(tasks["430104-ZRZY"], late)
    window = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    result = compute_stats(db, *window, now=late)
    assert result["assist_tasks"] == {"total": 2, "open": 1, "answered": 1, "waived": 0, "overdue": 1}
    rows = {r["code"]: r for r in result["overdue_by_department"]}
    assert rows["430104-ZJ"]["assist_overdue"] == 1 and "430104-ZRZY" not in rows
    # the assisting department's own statistics show it
    own = compute_stats(db, *window, department_id=_dept(db, "430104-ZJ").id, now=late)
    assert own["total"] == 0 and own["assist_tasks"]["overdue"] == 1
    # a task answered after its deadline stays overdue in the statistics
    joint.answer_task(s, _staff(db, "430104-ZJ"), t.number, "430104-ZJ", "迟到的答复", now=late)
    assert joint.is_task_overdue(tasks["430104-ZJ"], late + timedelta(days=1))
    assert joint.task_colour(tasks["430104-ZJ"], late) is None  # no colour once answered
