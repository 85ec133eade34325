"""Ticket operations: the whole loop with events, returns, escalation, merge, reporter follow-up."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.auth import Actor
from routing.errors import Conflict, Forbidden, Invalid, NotFound
from routing.escalation import escalate_overdue
from routing.lifecycle import IllegalTransition
from routing.models import Department, Ticket, TicketEvent
from routing.reporters import is_reporter, normalise_phone
from routing.service import ReporterInput, TicketService
from routing.settings import Settings

from helpers import INTAKE, OPERATOR, cst, make, new_ticket

T0 = cst(2024, 6, 3, 9, 0)


def _svc(db: Session, settings: Settings) -> TicketService:
    return TicketService(db, settings)


def test_full_loop_writes_an_event_per_change(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, location_text="芙蓉区文艺路街道桃花坪社区", event_type="school_fees")
    s = _svc(db, settings)
    assert t.state == "received" and t.department.code == "430102-JY"
    staff = Actor(name="edu-staff", role="staff", department_id=t.department_id)
    s.act(OPERATOR, t.number, "dispatch", {}, now=T0 + timedelta(hours=1))
    s.act(staff, t.number, "accept", {}, now=T0 + timedelta(hours=2))
    s.act(staff, t.number, "progress", {"note": "已约谈学校"}, now=T0 + timedelta(hours=3))
    s.act(staff, t.number, "resolve", {"reply": "已责令学校退还费用"}, now=T0 + timedelta(days=1))
    s.rate(INTAKE, t, 5, "很满意", now=T0 + timedelta(days=2))
    assert t.state == "closed" and t.rating == 5 and t.closed_at is not None
    kinds = [(e.kind, e.from_state, e.to_state) for e in t.events]
    assert kinds == [
        ("created", None, "received"), ("routed", "received", "received"),
        ("dispatch", "received", "dispatched"), ("accept", "dispatched", "in_progress"),
        ("progress", "in_progress", "in_progress"), ("resolve", "in_progress", "resolved"),
        ("rate", "resolved", "closed"),
    ]
    assert t.events[-1].actor_role == "reporter"


def test_illegal_and_forbidden_actions_change_nothing(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, location_text="芙蓉区文艺路街道", event_type="school_fees")
    s = _svc(db, settings)
    count = len(t.events)
    with pytest.raises(IllegalTransition):
        s.act(OPERATOR, t.number, "resolve", {"reply": "x"})
    with pytest.raises(Forbidden):
        s.act(Actor(name="sup", role="supervisor"), t.number, "dispatch", {})
    other = db.execute(select(Department).where(Department.code == "430104-JY")).scalar_one()
    with pytest.raises(NotFound):  # staff of another department does not even see it
        s.act(Actor(name="x", role="staff", department_id=other.id), t.number, "accept", {})
    with pytest.raises(NotFound):
        s.act(OPERATOR, "19990101-000001", "dispatch", {})
    with pytest.raises(Invalid):
        s.act(OPERATOR, t.number, "dispatch", {"department_code": "NOPE"})
    assert t.state == "received"
    assert db.execute(select(TicketEvent).where(TicketEvent.ticket_id == t.id)).scalars().all().__len__() == count


def test_dispatch_from_intake_desk_needs_a_department(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, location_text="我家楼下", event_type="school_fees")
    assert t.needs_operator and t.department.intake_desk
    s = _svc(db, settings)
    with pytest.raises(Conflict):
        s.act(OPERATOR, t.number, "dispatch", {})
    s.act(OPERATOR, t.number, "dispatch", {"department_code": "430103-JY", "level": "county"})
    assert t.department.code == "430103-JY" and not t.needs_operator and t.dispatched_at is not None


def test_return_goes_back_to_the_intake_desk(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, location_text="岳麓区望月湖街道望月湖社区", event_type="water_supply")
    s = _svc(db, settings)
    s.act(OPERATOR, t.number, "dispatch", {})
    with pytest.raises(Invalid):
        s.act(OPERATOR, t.number, "return", {})
    s.act(OPERATOR, t.number, "return", {"reason": "非本部门职责，应由供水公司处理"})
    assert t.state == "returned" and t.department.code == "430104003-SLZX" and t.needs_operator
    assert t.events[-1].note.startswith("非本部门职责")
    assert t.events[-1].data["from_department"] == "430104-SW"
    s.act(OPERATOR, t.number, "dispatch", {"department_code": "430104-SW"})
    assert t.state == "dispatched"


def test_escalate_moves_up_and_renews_the_deadline(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, location_text="岳麓区岳麓街道后湖社区", event_type="street_occupation")
    s = _svc(db, settings)
    assert (t.department.code, t.level) == ("430104001-ZFZD", "grid")
    later = T0 + timedelta(days=10)
    s.act(OPERATOR, t.number, "escalate", {}, now=later)
    assert t.state == "escalated" and t.level == "village-community" and t.escalation_count == 1
    assert t.deadline_at > later
    s.act(OPERATOR, t.number, "escalate", {}, now=later)
    s.act(OPERATOR, t.number, "escalate", {}, now=later)
    assert (t.department.code, t.level) == ("430104-CGZF", "county")
    s.act(OPERATOR, t.number, "escalate", {}, now=later)
    assert (t.department.code, t.level) == ("430100-CGZF", "city")
    with pytest.raises(Conflict):
        s.act(OPERATOR, t.number, "escalate", {}, now=later)


def test_merge(db: Session, settings: Settings) -> None:
    a = make(db, settings, T0, location_text="雨花区侯家塘街道侯家塘社区", event_type="sanitation")
    b = make(db, settings, T0 + timedelta(days=5), location_text="雨花区侯家塘街道", event_type="sanitation")
    s = _svc(db, settings)
    with pytest.raises(Conflict):
        s.act(OPERATOR, b.number, "merge", {"into": b.number})
    s.act(OPERATOR, b.number, "merge", {"into": a.number, "note": "同一垃圾堆"})
    assert b.state == "merged" and b.merged_into is a and a.duplicate_count == 1
    assert a.events[-1].kind == "merged_in"
    with pytest.raises(IllegalTransition):
        s.act(OPERATOR, b.number, "dispatch", {})


def test_reporter_check(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0)
    assert t.reporter.phone == "+8613800138000"
    assert is_reporter(t, channel_identity="telegram:1001")
    assert is_reporter(t, tail="8000")
    assert not is_reporter(t, channel_identity="telegram:1002")
    assert not is_reporter(t, tail="0000")
    assert not is_reporter(t, tail="800")
    s = _svc(db, settings)
    assert s.for_reporter(t.number, None, "8000") is t
    with pytest.raises(NotFound):
        s.for_reporter(t.number, "telegram:9", None)
    with pytest.raises(Invalid):
        s.for_reporter(t.number, None, None)


def test_anonymous_and_sms_identity(db: Session, settings: Settings) -> None:
    anon = make(db, settings, T0, reporter=ReporterInput(anonymous=True, channel_identity="telegram:77"))
    assert anon.reporter.anonymous and anon.reporter.phone is None
    sms = make(db, settings, T0, channel="sms", location_text="开福区湘雅路街道",
               reporter=ReporterInput(phone="138 0013 8001"))
    assert sms.reporter.channel_identity == "sms:+8613800138001"
    assert normalise_phone("+86 138-0013-8001") == "+8613800138001"


def test_reporter_follow_up(db: Session, settings: Settings) -> None:
    t = make(db, settings, T0, location_text="天心区坡子街街道西湖社区", event_type="sanitation")
    s = _svc(db, settings)
    with pytest.raises(IllegalTransition):
        s.rate(INTAKE, t, 5, None)  # not resolved yet
    s.urge(INTAKE, t, "怎么还没处理")
    s.urge(INTAKE, t, None)
    assert t.urge_count == 2
    s.supplement(INTAKE, t, "垃圾堆在3栋后面", [])
    with pytest.raises(Invalid):
        s.supplement(INTAKE, t, "  ", [])
    for action, payload in (("dispatch", {}), ("accept", {}), ("resolve", {"reply": "已清运"})):
        s.act(OPERATOR, t.number, action, payload)
    s.reporter_reopen(INTAKE, t, "并没有清运")
    assert t.state == "in_progress" and t.resolved_at is None
    s.act(OPERATOR, t.number, "resolve", {"reply": "已再次清运"})
    with pytest.raises(Invalid):
        s.rate(INTAKE, t, 6, None)
    s.rate(INTAKE, t, 2, "太慢")
    with pytest.raises(Conflict):
        s.rate(INTAKE, t, 3, None)
    with pytest.raises(IllegalTransition):
        s.urge(INTAKE, t, None)
    kinds = [e.kind for e in t.events]
    assert kinds.count("urge") == 2 and "supplement" in kinds and "reopen" in kinds and kinds[-1] == "rate"


def test_bad_input_changes_nothing(db: Session, settings: Settings) -> None:
    s = _svc(db, settings)
    before = db.execute(select(Ticket.id)).all()
    for kw in ({"text": "   "}, {"text": "长" * (settings.max_text_chars + 1)}, {"event_type": "nope"},
               {"channel": "pigeon"}, {"region_code": "999999"}, {"latitude": 28.1},
               {"reporter": ReporterInput(channel_identity="no colon")}):
        with pytest.raises(Invalid):
            make(db, settings, T0, **kw)
    assert db.execute(select(Ticket.id)).all() == before
    with pytest.raises(Forbidden):
        s.create(Actor(name="sup", role="supervisor"), new_ticket())


def test_escalation_job(backend, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    start = cst(2022, 3, 1, 9)
    with backend.factory() as session:
        overdue = make(session, settings, start, location_text="开福区湘雅路街道湘雅路社区", event_type="water_supply")
        fresh = make(session, settings, start + timedelta(days=30), location_text="开福区湘雅路街道",
                     event_type="gas_supply")
        session.commit()
        numbers = (overdue.number, fresh.number)
    now = start + timedelta(days=31)
    done = escalate_overdue(backend.factory, settings, now=now)
    assert numbers[0] in done and numbers[1] not in done
    with backend.factory() as session:
        t = session.execute(select(Ticket).where(Ticket.number == numbers[0])).scalar_one()
        assert t.state == "escalated" and t.level == "city" and t.escalation_count == 1
        assert t.events[-1].kind == "escalate" and t.events[-1].actor == "system:escalation"
        session.rollback()
    assert numbers[0] not in escalate_overdue(backend.factory, settings, now=now)  # fresh deadline now


def test_escalation_loop_runs_the_job(backend, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    import time

    from routing.escalation import EscalationLoop

    with backend.factory() as session:
        t = make(session, settings, cst(2022, 5, 9, 9), location_text="雨花区侯家塘街道侯家塘社区",
                 event_type="power_supply")
        session.commit()
        number = t.number
    loop = EscalationLoop(backend.factory, settings, interval=0.05)
    loop.start()
    try:
        deadline = time.monotonic() + 60  # hang guard only
        state = "received"
        while state != "escalated" and time.monotonic() < deadline:
            time.sleep(0.05)
            with backend.factory() as session:
                state = session.execute(select(Ticket.state).where(Ticket.number == number)).scalar_one()
                session.rollback()
    finally:
        loop.stop()
    assert state == "escalated"
