"""The escalation job: overdue open tickets go one level up (with an event row each).

Run it once with `python -m routing.cli escalate-overdue`, or let the app run it every
ROUTING_ESCALATION_INTERVAL seconds (0 disables the loop). An escalated ticket gets a fresh
deadline, so it is escalated again only if it becomes overdue again; a ticket already at the top
level (city) is left alone.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from routing.auth import Actor
from routing.errors import Conflict
from routing.lifecycle import OPEN_STATES
from routing.models import Ticket
from routing.service import TicketService
from routing.settings import Settings
from routing.timeutil import utcnow

log = logging.getLogger("routing.escalation")
ESCALATION_ACTOR = Actor(name="system:escalation", role="operator")


def overdue_numbers(session: Session, now: datetime) -> List[str]:
    return list(
        session.execute(
            select(Ticket.number).where(
                Ticket.state.in_(sorted(OPEN_STATES)), Ticket.deadline_at < now, Ticket.level != "city"
            ).order_by(Ticket.deadline_at)
        ).scalars()
    )


def escalate_overdue(factory: sessionmaker, settings: Settings, now: Optional[datetime] = None) -> List[str]:
    """Escalate every overdue open ticket, one transaction per ticket; returns their numbers."""
    now = now or utcnow()
    with factory() as session:
        numbers = overdue_numbers(session, now)
    done: List[str] = []
    for number in numbers:
        with factory() as session:
            try:
                service = TicketService(session, settings)
                ticket = service.load(number, for_update=True)
                if ticket.state not in OPEN_STATES or ticket.deadline_at is None or ticket.deadline_at >= now:
                    session.rollback()
                    continue  # somebody acted on it meanwhile
                service.act(ESCALATION_ACTOR, number, "escalate",
                            {"note": "超期自动升级 / overdue: escalated automatically"}, now=now)
                session.commit()
                done.append(number)
            except Conflict:
                session.rollback()
            except Exception:  # one bad ticket must not stop the others
                session.rollback()
                log.exception("escalation of %s failed", number)
    return done


class EscalationLoop:
    """A daemon thread running the job every `interval` seconds until stopped."""

    def __init__(self, factory: sessionmaker, settings: Settings, interval: float):
        self.factory, self.settings, self.interval = factory, settings, interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="escalation-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                numbers = escalate_overdue(self.factory, self.settings)
                if numbers:
                    log.info("escalated %d overdue tickets", len(numbers))
            except Exception:
                log.exception("escalation run failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
