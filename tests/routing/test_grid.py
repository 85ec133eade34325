"""Grid staff (网格员): lookup by identity, patrol reports, 小事格内解决 counted in the statistics,
the to-do list and its actions (the ordinary lifecycle actions)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import grid
from routing.auth import Actor
from routing.errors import Forbidden, Invalid, NotFound
from routing.models import Department, GridStaff
from routing.seed import seed_all
from routing.service import NewTicket, TicketService
from routing.settings import Settings
from routing.stats import compute_stats

from helpers import INTAKE, OPERATOR, cst, make

T0 = cst(2022, 9, 5, 9)  # a window no other test uses
STAFF_ID = "telegram:700001"  # 周小敏, 桃子湖社区第一、第二网格


def _report(text: str = "桃子湖社区一网格垃圾桶满溢", **kw) -> NewTicket:  # type: ignore[no-untyped-def]
    base = dict(text=text, channel="telegram", event_type="sanitation")
    base.update(kw)
    return NewTicket(**base)


def test_lookup_by_identity(db: Session) -> None:
    staff = grid.staff_by_identity(db, STAFF_ID)
    assert staff.code == "WG-430104001001-01"
    assert grid.staff_by_identity(db, "sms:13800001111").code == staff.code  # phone normalised
    assert grid.staff_by_identity(db, " sms:+8613800001111 ").code == staff.code
    for unknown in ("telegram:1", "nonsense", ""):
        with pytest.raises(NotFound):
            grid.staff_by_identity(db, unknown)
    view = grid.staff_view(db, staff)
    assert [g["code"] for g in view["grids"]] == ["430104001001-G01", "430104001001-G02"]
    assert [d["code"] for d in view["departments"]] == ["430104001001-G01-WGZ", "430104001001-G02-WGZ"]
    assert view["default_region"] == "430104001001-G01"


def test_seed_is_idempotent(db: Session) -> None:
    before = db.execute(select(GridStaff)).scalars().all()
    seed_all(db)
    after = db.execute(select(GridStaff)).scalars().all()
    assert len(before) == len(after) >= 4
    assert all(len(s.identities) >= 1 and s.regions for s in after)


def test_authorize() -> None:
    stations = [Department(id=999, code="x", name="x", kind="网格工作站", level="grid", region_id=1)]
    grid.authorize(INTAKE, stations, write=True)
    grid.authorize(OPERATOR, stations, write=True)
    grid.authorize(Actor("sup", "supervisor"), stations, write=False)
    grid.authorize(Actor("st", "staff", department_id=999), stations, write=True)
    with pytest.raises(Forbidden):
        grid.authorize(Actor("sup", "supervisor"), stations, write=True)
    with pytest.raises(Forbidden):
        grid.authorize(Actor("st", "staff", department_id=1), stations, write=False)


def test_patrol_report_defaults_to_own_grid(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    staff = grid.staff_by_identity(db, STAFF_ID)
    t = grid.report(s, INTAKE, staff, _report(), STAFF_ID, now=T0)
    assert t.region.code == "430104001001-G01" and t.state == "received"
    assert t.reporter.channel_identity == STAFF_ID and t.reporter.name == "周小敏" and not t.reporter.anonymous
    assert t.department.code == "430104001-ZFZD"  # routed by the ordinary rules
    assert t.grid_report.staff is staff and not t.grid_report.on_spot
    assert t.events[0].actor.startswith("网格员 周小敏") and t.events[0].actor_role == "grid_staff"
    # a location text naming a community wins over the default grid
    other = grid.report(s, INTAKE, staff, _report("后湖社区路灯不亮", event_type="sanitation",
                                                   location_text="岳麓区岳麓街道后湖社区"), STAFF_ID, now=T0)
    assert other.region.code.startswith("430104001002")


def test_resolve_on_the_spot_is_one_step_and_counted(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    staff = grid.staff_by_identity(db, STAFF_ID)
    with pytest.raises(Invalid):
        grid.resolve_on_spot(s, INTAKE, staff, _report(), "  ", STAFF_ID, now=T0)
    # even a type with assisting departments: handled within the grid, no assisting tasks
    t = grid.resolve_on_spot(s, INTAKE, staff, _report("楼道堆放杂物，已劝导清理", event_type="illegal_construction",
                                                        region_code="430104001001-G02"),
                             "已现场劝导住户清理", STAFF_ID, now=T0)
    assert t.state == "closed" and t.resolution == "已现场劝导住户清理"
    assert t.department.code == "430104001001-G02-WGZ" and t.level == "grid" and not t.needs_operator
    assert [e.kind for e in t.events] == ["created", "routed", "dispatch", "accept", "resolve", "close"]
    assert t.events[1].data["rule"] == "grid_staff:on_spot"
    assert t.assist_tasks == [] and t.grid_report.on_spot
    plain = make(db, settings, T0, event_type="sanitation", location_text="岳麓区岳麓街道桃子湖社区")
    result = compute_stats(db, T0 - timedelta(hours=1), T0 + timedelta(hours=1), now=T0 + timedelta(hours=2))
    assert result["total"] == 2 and result["completed"] == 1  # counted, never dropped
    assert result["resolved_in_grid"] == 1 and result["resolved_on_spot"] == 1
    assert result["resolved_in_grid_rate"] == 0.5 and result["grid_reports"] == 1
    assert plain.state == "received"


def test_todo_accept_progress_resolve(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    staff = grid.staff_by_identity(db, STAFF_ID)
    t = make(db, settings, T0, event_type="sanitation", location_text="岳麓区岳麓街道桃子湖社区")
    assert t.number not in {x.number for x in grid.todo(db, staff)}
    s.act(OPERATOR, t.number, "dispatch", {"department_code": "430104001001-G01-WGZ", "level": "grid"}, now=T0)
    assert t.number in {x.number for x in grid.todo(db, staff)}
    grid.act(s, INTAKE, staff, t.number, "accept", {}, now=T0)
    with pytest.raises(Invalid):
        grid.act(s, INTAKE, staff, t.number, "progress", {}, now=T0)
    grid.act(s, INTAKE, staff, t.number, "progress", {"note": "已联系环卫"}, now=T0)
    done = grid.act(s, INTAKE, staff, t.number, "resolve", {"reply": "已清运"}, now=T0 + timedelta(hours=3))
    assert done.state == "resolved"
    assert [e.actor_role for e in t.events][-3:] == ["grid_staff"] * 3
    assert t.number not in {x.number for x in grid.todo(db, staff)}
    assert t.number in {x.number for x in grid.todo(db, staff, ["resolved"])}
    # another worker's grid: as if it did not exist; unknown action refused
    other = grid.staff_by_identity(db, "telegram:700002")
    with pytest.raises(NotFound):
        grid.act(s, INTAKE, other, t.number, "progress", {"note": "x"})
    with pytest.raises(NotFound):
        grid.act(s, INTAKE, staff, t.number, "close", {})
    result = compute_stats(db, T0 - timedelta(hours=1), T0 + timedelta(hours=1), now=T0 + timedelta(hours=4))
    assert result["resolved_in_grid"] == 1 and result["resolved_on_spot"] == 0


def test_escalate_to_township_needs_a_reason(db: Session, settings: Settings) -> None:
    s = TicketService(db, settings)
    staff = grid.staff_by_identity(db, STAFF_ID)
    t = make(db, settings, T0, event_type="sanitation", location_text="岳麓区岳麓街道桃子湖社区")
    s.act(OPERATOR, t.number, "dispatch", {"department_code": "430104001001-G01-WGZ", "level": "grid"}, now=T0)
    with pytest.raises(Invalid):
        grid.act(s, INTAKE, staff, t.number, "escalate", {"note": " "}, now=T0)
    up = grid.act(s, INTAKE, staff, t.number, "escalate", {"reason": "涉及多个小区，网格无力处置"}, now=T0)
    assert up.state == "escalated" and up.level == "township"
    assert up.department.code == "430104001-SLZX" and up.needs_operator  # the street's 综治中心
    assert up.events[-1].note == "涉及多个小区，网格无力处置" and up.events[-1].data["level"] == "township"
    assert t.number not in {x.number for x in grid.todo(db, staff)}
