"""Deadlines on the Chinese statutory calendar and the three warning colours."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from routing.catalog import Deadline, load_catalog
from routing.sla import (GREEN, RED, YELLOW, add_working_days, aggregate, calendar_years, colour,
                         compute_deadline, is_workday, working_days_left)
from routing.timeutil import CST, to_local


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_day_before_national_day_runs_after_the_holiday() -> None:
    # 2025: 国庆+中秋 Oct 1–8 off, Sat Oct 11 is a 调休 working day.
    start = cst(2025, 9, 30, 16, 0)
    assert to_local(add_working_days(start, 1)) == cst(2025, 10, 9, 23, 59, 59)
    assert to_local(add_working_days(start, 3)) == cst(2025, 10, 11, 23, 59, 59)  # the make-up Saturday
    assert to_local(compute_deadline(start, Deadline(working_days=5))) == cst(2025, 10, 14, 23, 59, 59)


def test_catalogue_deadline_for_a_real_type() -> None:
    et = load_catalog()["noise_pollution"]  # 5 working days
    deadline = compute_deadline(cst(2025, 9, 30, 9, 0), et.deadline)
    assert to_local(deadline).date().isoformat() == "2025-10-14"


def test_spring_festival() -> None:
    # 2025 春节: Jan 28 – Feb 4 off, Sun Jan 26 and Sat Feb 8 working days.
    assert is_workday(cst(2025, 1, 26).date())
    assert not is_workday(cst(2025, 1, 29).date())
    assert to_local(add_working_days(cst(2025, 1, 27, 10), 1)).date().isoformat() == "2025-02-05"


def test_urgent_types_count_hours() -> None:
    start = cst(2025, 9, 30, 22, 0)
    assert compute_deadline(start, Deadline(hours=24)) == start + timedelta(hours=24)
    fraud = load_catalog()["telecom_fraud"]
    assert fraud.urgent and compute_deadline(start, fraud.deadline) == start + timedelta(hours=24)


def test_outside_the_calendar_falls_back_to_monday_to_friday() -> None:
    first, last = calendar_years()
    year = last + 4
    friday = next(cst(year, 10, d) for d in range(1, 8) if cst(year, 10, d).weekday() == 4)
    # Monday–Friday only, holidays unknown: Friday + 1 working day = Monday.
    assert to_local(add_working_days(friday, 1)).weekday() == 0
    assert is_workday(cst(year, 10, 1).date()) == (cst(year, 10, 1).weekday() < 5)


def test_zero_working_days_refused() -> None:
    with pytest.raises(ValueError):
        add_working_days(cst(2025, 3, 3), 0)


def test_colours() -> None:
    created = cst(2025, 3, 3, 9, 0)  # Monday
    deadline = add_working_days(created, 10)  # Mon Mar 17, end of day
    assert colour(cst(2025, 3, 4, 9), created, deadline) == GREEN
    assert colour(cst(2025, 3, 14, 9), created, deadline) == YELLOW  # < 25 % of the time left
    assert colour(cst(2025, 3, 17, 23), created, deadline) == YELLOW
    assert colour(cst(2025, 3, 18, 0, 30), created, deadline) == RED
    assert colour(cst(2025, 3, 18), created, deadline, state_open=False) is None


def test_less_than_one_working_day_is_yellow_even_with_time_left() -> None:
    created = cst(2025, 3, 7, 9, 0)  # Friday
    deadline = add_working_days(created, 1)  # Monday Mar 10 end of day
    # Saturday morning: more than 25 % of the span left, but no whole working day before the deadline day
    assert working_days_left(cst(2025, 3, 8, 9), deadline) == 1
    assert colour(cst(2025, 3, 8, 9), created, deadline) == GREEN
    assert colour(cst(2025, 3, 10, 1), created, deadline) == YELLOW


def test_hour_deadlines_use_the_share_only() -> None:
    created = cst(2025, 3, 3, 9)
    deadline = created + timedelta(hours=24)
    assert colour(cst(2025, 3, 3, 12), created, deadline, working_days=False) == GREEN
    assert colour(cst(2025, 3, 4, 4), created, deadline, working_days=False) == YELLOW
    assert colour(cst(2025, 3, 4, 10), created, deadline, working_days=False) == RED


def test_aggregate_per_region() -> None:
    rows = aggregate([(("430104", "岳麓区"), GREEN), (("430104", "岳麓区"), RED), (("430102", "芙蓉区"), YELLOW),
                      (("430102", "芙蓉区"), None)])
    assert rows["430104"].colour == RED and rows["430104"].counts[GREEN] == 1
    assert rows["430102"].as_dict() == {"region_code": "430102", "region_name": "芙蓉区", "colour": YELLOW,
                                        "green": 0, "yellow": 1, "red": 0}
