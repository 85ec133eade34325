"""The supervisors' dashboard: 办结率, 超期率, 满意度 per region (county) and department over a
window of received tickets, three-colour warnings of the open tickets now, and tickets over time
by type. Definitions are those of routing.stats (merged tickets excluded; overdue = open past the
deadline or resolved after it; satisfaction = mean rating and share of 4–5 among rated tickets).
The assisting tasks (协办任务) of the window's tickets and the overdue lead tickets and tasks per
department are routing.stats.compute_stats's own figures (`assist_tasks`, `overdue_by_department`).
Staff see only their department.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing import lifecycle
from routing.auth import Actor
from routing.catalog import load_catalog
from routing.console import charts
from routing.console.texts import label
from routing.models import Region, Ticket
from routing.regions import region_at_level
from routing.stats import compute_stats, period_key
from routing.timeutil import to_local, utcnow
from routing.views import is_overdue, ticket_colour

TOP_TYPES = 5
TOP_DEPARTMENTS = 12
WINDOWS = (7, 30, 90, 365)


@dataclass
class Tally:
    code: str
    name: str
    total: int = 0
    done: int = 0
    overdue: int = 0
    ratings: List[int] = field(default_factory=list)
    colours: Counter = field(default_factory=Counter)

    @property
    def completion_rate(self) -> Optional[float]:
        return self.done / self.total if self.total else None

    @property
    def overdue_rate(self) -> Optional[float]:
        return self.overdue / self.total if self.total else None

    @property
    def satisfaction_mean(self) -> Optional[float]:
        return sum(self.ratings) / len(self.ratings) if self.ratings else None

    @property
    def satisfaction_share(self) -> Optional[float]:
        return sum(1 for r in self.ratings if r >= 4) / len(self.ratings) if self.ratings else None

    @property
    def colour(self) -> str:
        if self.colours.get("red"):
            return "red"
        if self.colours.get("yellow"):
            return "yellow"
        return "green"

    @property
    def open_count(self) -> int:
        return sum(self.colours.values())


def _add(t: Ticket, tally: Tally, now: datetime) -> None:
    tally.total += 1
    if t.state in lifecycle.DONE_STATES:
        tally.done += 1
    if is_overdue(t, now):
        tally.overdue += 1
    if t.rating is not None:
        tally.ratings.append(t.rating)


def _keys(t: Ticket) -> Tuple[Tuple[str, str], Tuple[str, str]]:
    county = region_at_level(t.region, "county")
    region = (county.code, county.name) if county is not None else ("unresolved", label("unresolved_region"))
    dept = (t.department.code, t.department.name) if t.department is not None else ("none", label("no_department"))
    return region, dept


def _periods(start: datetime, end: datetime, period: str) -> List[str]:
    keys: List[str] = []
    day = to_local(start).date()
    last = to_local(end).date()
    while day <= last:
        key = period_key(datetime(day.year, day.month, day.day, 12, tzinfo=to_local(start).tzinfo), period)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def dashboard(session: Session, actor: Actor, days: int = 30, now: Optional[datetime] = None) -> Dict[str, Any]:
    now = now or utcnow()
    days = days if days in WINDOWS else 30
    start = now - timedelta(days=days)
    period = "day" if days <= 31 else ("week" if days <= 120 else "month")
    catalog = load_catalog()
    options = (selectinload(Ticket.region).selectinload(Region.parent), selectinload(Ticket.department))
    conds: List[Any] = [Ticket.state != lifecycle.MERGED]
    if not actor.can("read_all"):
        conds.append(Ticket.department_id == actor.department_id)
    window = list(session.execute(select(Ticket).where(*conds, Ticket.created_at >= start).options(*options)).scalars())
    open_now = list(session.execute(
        select(Ticket).where(*conds, Ticket.state.in_(sorted(lifecycle.OPEN_STATES))).options(*options)).scalars())

    overall = Tally("all", label("all"))
    regions: Dict[str, Tally] = {}
    depts: Dict[str, Tally] = {}
    for t in window:
        (rc, rn), (dc, dn) = _keys(t)
        _add(t, overall, now)
        _add(t, regions.setdefault(rc, Tally(rc, rn)), now)
        _add(t, depts.setdefault(dc, Tally(dc, dn)), now)
    for t in open_now:
        col = ticket_colour(t, now)
        if col is None:
            continue
        (rc, rn), (dc, dn) = _keys(t)
        overall.colours[col] += 1
        regions.setdefault(rc, Tally(rc, rn)).colours[col] += 1
        depts.setdefault(dc, Tally(dc, dn)).colours[col] += 1
    awaiting = sum(1 for t in window if t.state == lifecycle.AWAITING_REVIEW)
    # joint handling: the figures of GET /api/stats for the same window and the same scope
    scope = None if actor.can("read_all") else (actor.department_id if actor.department_id is not None else -1)
    joint_stats = compute_stats(session, start, None, "day", scope, now)

    region_rows = sorted(regions.values(), key=lambda r: (-r.colours.get("red", 0), -r.total, r.code))
    dept_rows = sorted(depts.values(), key=lambda r: (-r.colours.get("red", 0), -(r.total + r.open_count), r.code))
    dept_rows = dept_rows[:TOP_DEPARTMENTS] if len(dept_rows) > TOP_DEPARTMENTS else dept_rows

    rate_series = [{"name": label("completion_rate"), "cls": "ok"}, {"name": label("overdue_rate"), "cls": "bad"},
                   {"name": label("satisfaction_share"), "cls": "sat"}]
    warn_series = [{"name": label(c), "cls": c} for c in ("green", "yellow", "red")]

    def rate_rows(rows: List[Tally]) -> List[Dict[str, Any]]:
        return [{"label": r.name, "values": [r.completion_rate, r.overdue_rate, r.satisfaction_share]}
                for r in rows if r.total]

    def warn_rows(rows: List[Tally]) -> List[Dict[str, Any]]:
        return [{"label": r.name, "values": [r.colours.get("green", 0), r.colours.get("yellow", 0),
                                             r.colours.get("red", 0)]} for r in rows if r.open_count]

    # tickets over time by type: the most frequent types, the rest as 其他
    type_counts = Counter(t.event_type or "_none" for t in window)
    top = [code for code, _ in type_counts.most_common() if code != "_none"][:TOP_TYPES]
    periods = _periods(start, now, period)
    index = {p: i for i, p in enumerate(periods)}
    series_values: Dict[str, List[int]] = defaultdict(lambda: [0] * len(periods))
    for t in window:
        key = period_key(t.created_at, period)
        if key not in index:
            continue
        code = t.event_type if t.event_type in top else ("_none" if not t.event_type else "_other")
        series_values[code][index[key]] += 1
    series = []
    for i, code in enumerate(top):
        series.append({"name": catalog[code].name if code in catalog else code, "cls": f"s{i}",
                       "values": series_values[code]})
    if any(series_values["_other"]):
        series.append({"name": label("other_types"), "cls": "s6", "values": series_values["_other"]})
    if any(series_values["_none"]):
        series.append({"name": label("unclassified"), "cls": "s7", "values": series_values["_none"]})

    return {
        "days": days, "windows": WINDOWS, "period": period, "start": start, "end": now,
        "overall": overall, "awaiting_review": awaiting,
        "assist": joint_stats["assist_tasks"],
        "overdue_by_department": joint_stats["overdue_by_department"][:TOP_DEPARTMENTS],
        "regions": region_rows, "departments": dept_rows,
        "chart_region_rates": charts.hbar(rate_rows(region_rows), rate_series, percent=True),
        "chart_region_warnings": charts.hbar(warn_rows(region_rows), warn_series, stacked=True),
        "chart_dept_rates": charts.hbar(rate_rows(dept_rows), rate_series, percent=True, label_width=190),
        "chart_dept_warnings": charts.hbar(warn_rows(dept_rows), warn_series, stacked=True, label_width=190),
        "chart_trend": charts.columns(periods, series),
        "trend_table": {"periods": periods, "series": series},
    }
