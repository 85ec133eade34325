"""Deadlines (SLA) and three-colour warnings.

Working-day deadlines count days on the Chinese statutory calendar (`chinese_calendar`: public
holidays and the 调休 weekend working days). The day a ticket is received does not count; the
deadline is the end (23:59:59 China time) of the N-th working day after it. A ticket received the
day before 国庆 therefore runs from the first working day after the holiday.

`chinese_calendar` only knows the years it ships data for (see :func:`calendar_years`); for a
date outside that range the calendar falls back to plain Monday–Friday working days, which is
wrong for holidays of that year: upgrade the package when a new year's schedule is published.

Urgent types have deadlines in clock hours from receipt.

Warning colours for an open ticket: red when overdue; yellow when less than 25% of the allowed
time is left, or (working-day deadlines) less than one working day is left; green otherwise.
Resolved, closed and merged tickets have no colour.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Dict, Iterable, Optional, Tuple

import chinese_calendar

from routing.catalog import Deadline
from routing.timeutil import CST, as_utc, to_local

GREEN, YELLOW, RED = "green", "yellow", "red"
COLOURS: Tuple[str, ...] = (GREEN, YELLOW, RED)
_END_OF_DAY = time(23, 59, 59)


@lru_cache(maxsize=1)
def calendar_years() -> Tuple[int, int]:
    """The first and last year `chinese_calendar` has holiday data for."""
    from chinese_calendar import constants

    days = list(constants.holidays) + list(constants.workdays)
    return min(days).year, max(days).year


def is_workday(day: date) -> bool:
    """Statutory working day; Monday–Friday outside the calendar's supported years."""
    first, last = calendar_years()
    if first <= day.year <= last:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # pragma: no cover - guarded by the range check
            pass
    return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """End of the `days`-th working day after the (China-time) day of `start`, as UTC."""
    if days < 1:
        raise ValueError("working days must be at least 1")
    day = to_local(start).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_workday(day):
            counted += 1
    return as_utc(datetime.combine(day, _END_OF_DAY, tzinfo=CST))


def working_days_left(now: datetime, deadline: datetime) -> int:
    """Whole working days after today (China time) up to and including the deadline's day."""
    today = to_local(now).date()
    last = to_local(deadline).date()
    count = 0
    day = today
    while day < last:
        day += timedelta(days=1)
        if is_workday(day):
            count += 1
    return count


def compute_deadline(start: datetime, deadline: Deadline) -> datetime:
    if deadline.hours is not None:
        return as_utc(start) + timedelta(hours=deadline.hours)
    assert deadline.working_days is not None
    return add_working_days(start, deadline.working_days)


def colour(
    now: datetime,
    created_at: datetime,
    deadline_at: Optional[datetime],
    state_open: bool = True,
    working_days: bool = True,
) -> Optional[str]:
    """green / yellow / red for an open ticket, None for a finished one or one without deadline."""
    if not state_open or deadline_at is None:
        return None
    now, created_at, deadline_at = as_utc(now), as_utc(created_at), as_utc(deadline_at)
    if now > deadline_at:
        return RED
    total = (deadline_at - created_at).total_seconds()
    left = (deadline_at - now).total_seconds()
    if total <= 0 or left / total < 0.25:
        return YELLOW
    if working_days and working_days_left(now, deadline_at) < 1:
        return YELLOW
    return GREEN


@dataclass
class RegionWarning:
    region_code: str
    region_name: str
    counts: Dict[str, int]

    @property
    def colour(self) -> str:
        if self.counts.get(RED):
            return RED
        if self.counts.get(YELLOW):
            return YELLOW
        return GREEN

    def as_dict(self) -> Dict[str, object]:
        return {
            "region_code": self.region_code,
            "region_name": self.region_name,
            "colour": self.colour,
            "green": self.counts.get(GREEN, 0),
            "yellow": self.counts.get(YELLOW, 0),
            "red": self.counts.get(RED, 0),
        }


def aggregate(pairs: Iterable[Tuple[Tuple[str, str], Optional[str]]]) -> Dict[str, RegionWarning]:
    """((region code, region name), colour) pairs → per-region counts and worst colour."""
    out: Dict[str, RegionWarning] = {}
    for (code, name), col in pairs:
        if col is None:
            continue
        entry = out.setdefault(code, RegionWarning(code, name, Counter()))
        entry.counts[col] += 1
    return out
