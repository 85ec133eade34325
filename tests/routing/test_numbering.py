"""Ticket numbers: YYYYMMDD-NNNNNN, sequential per China day."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from routing.numbering import day_key, next_number
from routing.settings import Settings

from helpers import cst, make


def test_sequence_and_format(db: Session) -> None:
    now = cst(2023, 7, 1, 9)
    numbers = [next_number(db, now) for _ in range(3)]
    assert numbers == ["20230701-000001", "20230701-000002", "20230701-000003"]
    assert next_number(db, now + timedelta(days=1)) == "20230702-000001"


def test_day_is_the_china_day() -> None:
    late_utc = datetime(2023, 6, 30, 17, 30, tzinfo=timezone.utc)  # 01:30 on July 1 in China
    assert day_key(late_utc) == "20230701"


def test_tickets_get_unique_numbers(db: Session, settings: Settings) -> None:
    now = cst(2023, 8, 8, 8)
    numbers = [make(db, settings, now, location_text=f"测试路{i}号", event_type="sanitation").number for i in range(5)]
    assert len(set(numbers)) == 5
    assert all(re.fullmatch(r"20230808-\d{6}", n) for n in numbers)
