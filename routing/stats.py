"""Statistics: 办结率, 超期率, 满意度 and counts by type / region / department / period.

Over the tickets received in [start, end) (all time by default), merged tickets excluded (they
are counted on the ticket they were merged into):
  办结率 completion_rate  = (resolved + closed) / all
  超期率 overdue_rate     = overdue / all, overdue = still open past the deadline, or resolved
                            after it
  满意度 satisfaction     = mean rating (1–5) and the share of ratings 4–5 among rated tickets
Regions are counted at the county level (a ticket without a region counts as "unresolved").
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing.catalog import load_catalog
from routing.lifecycle import DONE_STATES, MERGED
from routing.models import Department, Region, Ticket
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
    }


def default_window(days: int, now: Optional[datetime] = None) -> "tuple[datetime, datetime]":
    now = now or utcnow()
    return now - timedelta(days=days), now
