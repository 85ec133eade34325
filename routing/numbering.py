"""Human-readable ticket numbers: `YYYYMMDD-NNNNNN` (China date + a per-day sequence).

The sequence is a counter row per day, incremented inside the ticket's own transaction:
on PostgreSQL the UPDATE takes a row lock, so concurrent transactions queue on it and each gets
the next value; on SQLite every transaction starts with BEGIN IMMEDIATE (see routing.db), which
serialises writers. The first ticket of a day inserts the row in a savepoint; a concurrent
insert of the same day loses on the primary key and simply goes on to the UPDATE.
A rolled-back ticket gives its number back (numbers are gap-free in committed data).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.models import TicketCounter
from routing.timeutil import to_local

NUMBER_DIGITS = 6


def day_key(now: datetime) -> str:
    return to_local(now).strftime("%Y%m%d")


def format_number(day: str, value: int) -> str:
    return f"{day}-{value:0{NUMBER_DIGITS}d}"


def next_number(session: Session, now: datetime) -> str:
    day = day_key(now)
    exists = session.execute(select(TicketCounter.day).where(TicketCounter.day == day)).first()
    if exists is None:
        try:
            with session.begin_nested():
                session.add(TicketCounter(day=day, value=0))
        except IntegrityError:
            pass  # another transaction created today's row first
    session.execute(
        update(TicketCounter)
        .where(TicketCounter.day == day)
        .values(value=TicketCounter.value + 1)
        .execution_options(synchronize_session=False)
    )
    value = session.execute(select(TicketCounter.value).where(TicketCounter.day == day)).scalar_one()
    return format_number(day, value)
