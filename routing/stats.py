"""Statistics: 办结率, 超期率, 满意度 and counts by type / region / department / period.

Over the tickets received in [start, end) (all time by default), merged tickets excluded (they
are counted on the ticket they were merged into):
  办结率 completion_rate  = (resolved + closed) / all
  超期率 overdue_rate     = overdue / all, overdue = still open past the deadline, or resolved
                            after it
  满意度 satisfaction     = mean rating (1–5) and the share of ratings 4–5 among rated tickets
Regions are counted at the county level (a ticket without a region counts as "unresolved").

Grid figures (routing.grid):
  格内解决数 resolved_in_grid      = resolved/closed tickets whose lead department is a grid
                                    station (includes 小事格内解决, resolved_on_spot)
  格内解决率 resolved_in_grid_rate = resolved_in_grid / all
  grid_reports                     = tickets grid workers reported from patrol
Joint handling (routing.joint), over the assisting tasks of the same tickets (with a department
filter: that department's own tasks): counts by state and overdue; `overdue_by_department` puts
a department's overdue lead tickets and its overdue assisting tasks side by side.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing.catalog import load_catalog
from routing.joint import TASK_STATES, is_task_overdue
from routing.lifecycle import DONE_STATES, MERGED
from routing.models import AssistTask, Department, GridReport, Region, Ticket
from routing.regions import region_at_level
from routing.timeutil import to_local, utcnow
from routing.views import is_overdue

PERIODS = ("day", "week", "month")


def period_key(when: datetime, period: str) -> str:
    local = to_local(when)
    if period == "day":
        return local.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.strftime("%Y-%m")


def _rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def compute_stats(
    session: Session,
    start: Optional[datetime] = None,
    end: Optional[datetime] = None,
    period: str = "day",
    department_id: Optional[int] = None,
    now: Optional[datetime] = None,
) -> Dict[str, Any]:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    now = now or utcnow()
    stmt = select(Ticket).where(Ticket.state != MERGED).options(
        selectinload(Ticket.region).selectinload(Region.parent), selectinload(Ticket.department)
    )
    if start is not None:
        stmt = stmt.where(Ticket.created_at >= start)
    if end is not None:
        stmt = stmt.where(Ticket.created_at < end)
    if department_id is not None:
        stmt = stmt.where(Ticket.department_id == department_id)
    tickets: List[Ticket] = list(session.execute(stmt).scalars())
    catalog = load_catalog()
    total = len(tickets)
    done = sum(1 for t in tickets if t.state in DONE_STATES)
    overdue = sum(1 for t in tickets if is_overdue(t, now))
    ratings = [t.rating for t in tickets if t.rating is not None]
    by_type: Counter = Counter()
    by_region: Counter = Counter()
    by_department: Counter = Counter()
    by_period: Counter = Counter()
    by_state: Counter = Counter()
    for t in tickets:
        by_type[t.event_type or "unknown"] += 1
        county = region_at_level(t.region, "county")
        by_region[county.code if county else "unresolved"] += 1
        by_department[t.department.code if t.department else "none"] += 1
        by_period[period_key(t.created_at, period)] += 1
        by_state[t.state] += 1
    region_names = {r.code: r.name for r in session.execute(select(Region).where(Region.code.in_(list(by_region)))).scalars()}
    dept_names = {d.code: d.name for d in session.execute(
        select(Department).where(Department.code.in_(list(by_department)))).scalars()}

    def rows(counter: Counter, names: Dict[str, str]) -> List[Dict[str, Any]]:
        return [{"code": k, "name": names.get(k), "count": v} for k, v in counter.most_common()]

    type_names = {et.code: et.name for et in catalog}
    ids = [t.id for t in tickets]
    reports = _grid_reports(session, ids)
    in_grid = sum(1 for t in tickets if t.state in DONE_STATES and t.department is not None
                  and t.department.level == "grid")
    on_spot = sum(1 for r in reports if r.on_spot)
    tasks = _assist_tasks(session, start, end, department_id)
    task_states: Counter = Counter(task.state for task in tasks)
    assist_overdue: Counter = Counter()
    for task in tasks:
        if is_task_overdue(task, now):
            assist_overdue[task.department.code] += 1
    lead_overdue: Counter = Counter(t.department.code if t.department else "none" for t in tickets if is_overdue(t, now))
    overdue_codes = set(lead_overdue) | set(assist_overdue)
    dept_names.update({d.code: d.name for d in session.execute(
        select(Department).where(Department.code.in_(sorted(overdue_codes - set(dept_names))))).scalars()})
    overdue_by_department = sorted(
        ({"code": c, "name": dept_names.get(c), "lead_overdue": lead_overdue.get(c, 0),
          "assist_overdue": assist_overdue.get(c, 0), "count": lead_overdue.get(c, 0) + assist_overdue.get(c, 0)}
         for c in overdue_codes),
        key=lambda r: (-r["count"], r["code"]),
    )
    return {
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
        "total": total,
        "completed": done,
        "overdue": overdue,
        "completion_rate": _rate(done, total),
        "overdue_rate": _rate(overdue, total),
        "rated": len(ratings),
        "satisfaction_mean": round(sum(ratings) / len(ratings), 3) if ratings else None,
        "satisfaction_share_4_5": _rate(sum(1 for r in ratings if r >= 4), len(ratings)),
        "by_state": dict(by_state),
        "by_type": rows(by_type, type_names),
        "by_region": rows(by_region, region_names),
        "by_department": rows(by_department, dept_names),
        "by_period": [{"period": k, "count": by_period[k]} for k in sorted(by_period)],
        "period": period,
        "resolved_in_grid": in_grid,
        "resolved_in_grid_rate": _rate(in_grid, total),
        "resolved_on_spot": on_spot,
        "grid_reports": len(reports),
        "assist_tasks": {"total": len(tasks), **{s: task_states.get(s, 0) for s in TASK_STATES},
                         "overdue": sum(assist_overdue.values())},
        "overdue_by_department": overdue_by_department,
    }


def _grid_reports(session: Session, ticket_ids: List[int]) -> List[GridReport]:
    out: List[GridReport] = []
    for i in range(0, len(ticket_ids), 500):
        out.extend(session.execute(
            select(GridReport).where(GridReport.ticket_id.in_(ticket_ids[i:i + 500]))).scalars())
    return out


def _assist_tasks(session: Session, start: Optional[datetime], end: Optional[datetime],
                  department_id: Optional[int]) -> List[AssistTask]:
    """Assisting tasks on the (non-merged) tickets received in the window."""
    stmt = (select(AssistTask).join(Ticket, AssistTask.ticket_id == Ticket.id).where(Ticket.state != MERGED)
            .options(selectinload(AssistTask.department)))
    if start is not None:
        stmt = stmt.where(Ticket.created_at >= start)
    if end is not None:
        stmt = stmt.where(Ticket.created_at < end)
    if department_id is not None:
        stmt = stmt.where(AssistTask.department_id == department_id)
    return list(session.execute(stmt).scalars())


def default_window(days: int, now: Optional[datetime] = None) -> "tuple[datetime, datetime]":
    now = now or utcnow()
    return now - timedelta(days=days), now
