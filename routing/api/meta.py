"""Catalogue, regions, departments, the caller's identity, statistics and warnings."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing.api.deps import current_actor, get_session
from routing.catalog import load_catalog
from routing.errors import Invalid, NotFound
from routing.joint import TASK_OPEN, department_tasks, task_colour, task_view
from routing.lifecycle import OPEN_STATES
from routing.models import REGION_LEVELS, Department, Region, Ticket
from routing.regions import ancestors, get_region, region_at_level
from routing.sla import aggregate, calendar_years
from routing.stats import PERIODS, compute_stats
from routing.timeutil import parse_iso, utcnow
from routing.views import department_brief, region_brief, ticket_colour, ticket_summary

router = APIRouter(prefix="/api")


@router.get("/event-types", summary="事件目录 / the event catalogue")
def event_types() -> List[Dict[str, Any]]:
    return [
        {"code": t.code, "name": t.name, "domain": t.domain, "department": t.department, "level": t.level,
         "deadline": {"working_days": t.deadline.working_days, "hours": t.deadline.hours},
         "urgent": t.urgent, "emergency": t.emergency, "assisting": list(t.assisting), "covers": t.covers}
        for t in load_catalog()
    ]


@router.get("/regions", summary="区划 / regions (filter by level or parent code)")
def regions(level: Optional[str] = None, parent: Optional[str] = None,
            session: Session = Depends(get_session)) -> List[Dict[str, Any]]:
    stmt = select(Region).order_by(Region.code)
    if level is not None:
        if level not in REGION_LEVELS:
            raise Invalid(f"level 应为 {', '.join(REGION_LEVELS)} / unknown level", "bad_level")
        stmt = stmt.where(Region.level == level)
    if parent is not None:
        p = get_region(session, parent)
        if p is None:
            raise NotFound(f"区划不存在 / unknown region: {parent}", "region_not_found")
        stmt = stmt.where(Region.parent_id == p.id)
    out = []
    for r in session.execute(stmt.options(selectinload(Region.parent))).scalars():
        out.append({**(region_brief(r) or {}), "parent": r.parent.code if r.parent else None,
                    "latitude": r.latitude, "longitude": r.longitude})
    return out


@router.get("/regions/{code}", summary="一个区划及其上级、下级 / one region with ancestors and children")
def region(code: str, session: Session = Depends(get_session)) -> Dict[str, Any]:
    r = get_region(session, code)
    if r is None:
        raise NotFound(f"区划不存在 / unknown region: {code}", "region_not_found")
    return {**(region_brief(r) or {}), "latitude": r.latitude, "longitude": r.longitude,
            "ancestors": [region_brief(a) for a in ancestors(r)[1:]],
            "children": [region_brief(c) for c in sorted(r.children, key=lambda c: c.code)]}


@router.get("/departments", summary="部门 / departments (filter by kind or served region)")
def departments(kind: Optional[str] = None, region: Optional[str] = None,
                session: Session = Depends(get_session)) -> List[Dict[str, Any]]:
    stmt = select(Department).where(Department.active.is_(True)).order_by(Department.code).options(
        selectinload(Department.parent), selectinload(Department.region))
    if kind:
        stmt = stmt.where(Department.kind == kind)
    rows = list(session.execute(stmt).scalars())
    if region:
        r = get_region(session, region)
        if r is None:
            raise NotFound(f"区划不存在 / unknown region: {region}", "region_not_found")
        chain = {a.id for a in ancestors(r)}
        rows = [d for d in rows if any(s.id in chain for s in d.regions)]
    return [{**(department_brief(d) or {}), "region": d.region.code, "parent": d.parent.code if d.parent else None,
             "serves": [s.code for s in d.regions]} for d in rows]


@router.get("/me", summary="当前令牌 / who am I")
def me(request: Request, session: Session = Depends(get_session)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    dept = session.get(Department, actor.department_id) if actor.department_id else None
    return {"name": actor.name, "role": actor.role, "department": department_brief(dept)}


def _parse_time(value: Optional[str], name: str) -> Optional[datetime]:
    if value is None or value == "":
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise Invalid(f"{name} 应为 ISO 8601 时间 / {name} must be ISO 8601", "bad_datetime") from None


@router.get("/stats", summary="统计：办结率、超期率、满意度 / statistics")
def stats(request: Request, from_: Optional[str] = Query(None, alias="from"), to: Optional[str] = None,
          period: str = Query("day", description="day / week / month"),
          session: Session = Depends(get_session)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    actor.require("stats")
    if period not in PERIODS:
        raise Invalid(f"period 应为 {', '.join(PERIODS)} / bad period", "bad_period")
    dept = None if actor.can("read_all") else actor.department_id
    result = compute_stats(session, _parse_time(from_, "from"), _parse_time(to, "to"), period, dept)
    result["calendar_years"] = list(calendar_years())
    return result


@router.get("/warnings", summary="三色预警 / three-colour warnings per ticket and per region")
def warnings(request: Request, level: str = Query("county", description="region level to aggregate at"),
             session: Session = Depends(get_session)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    actor.require("stats")
    if level not in REGION_LEVELS:
        raise Invalid(f"level 应为 {', '.join(REGION_LEVELS)} / unknown level", "bad_level")
    stmt = select(Ticket).where(Ticket.state.in_(sorted(OPEN_STATES))).options(
        selectinload(Ticket.region), selectinload(Ticket.department), selectinload(Ticket.duplicate_of))
    if not actor.can("read_all"):
        stmt = stmt.where(Ticket.department_id == actor.department_id)
    now = utcnow()
    tickets = list(session.execute(stmt).scalars())
    pairs = []
    flagged = []
    for t in tickets:
        col = ticket_colour(t, now)
        at = region_at_level(t.region, level)
        key = (at.code, at.name) if at is not None else ("unresolved", "未定位 / unresolved")
        pairs.append((key, col))
        if col in ("yellow", "red"):
            flagged.append(ticket_summary(t, now))
    regions_out = sorted((w.as_dict() for w in aggregate(pairs).values()),
                         key=lambda d: (-d["red"], -d["yellow"], d["region_code"]))
    flagged.sort(key=lambda d: (d["warning"] != "red", d["deadline_at"] or ""))
    # Per department: its lead tickets and its open assisting tasks (routing.joint), so an overdue
    # assisting task counts against the assisting department.
    dept_pairs = [((t.department.code, t.department.name) if t.department else ("none", "无"), ticket_colour(t, now))
                  for t in tickets]
    tasks = [task for task in department_tasks(
        session, None if actor.can("read_all") else actor.department_id, (TASK_OPEN,), limit=100000)
        if task.ticket.state in OPEN_STATES]
    flagged_tasks = []
    for task in tasks:
        col = task_colour(task, now)
        dept_pairs.append(((task.department.code, task.department.name), col))
        if col in ("yellow", "red"):
            flagged_tasks.append(task_view(task, now))
    flagged_tasks.sort(key=lambda d: (d["warning"] != "red", d["deadline_at"] or ""))
    departments_out = sorted(
        ({**w.as_dict(), "department_code": w.region_code, "department_name": w.region_name}
         for w in aggregate(dept_pairs).values()),
        key=lambda d: (-d["red"], -d["yellow"], d["department_code"]))
    for d in departments_out:
        d.pop("region_code"), d.pop("region_name")
    return {"level": level, "regions": regions_out, "tickets": flagged,
            "totals": {c: sum(r[c] for r in regions_out) for c in ("green", "yellow", "red")},
            "departments": departments_out, "assist_tasks": flagged_tasks}
