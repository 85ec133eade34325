"""Small helpers shared by the database tests."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from routing.auth import Actor
from routing.service import NewTicket, ReporterInput, TicketService
from routing.settings import Settings
from routing.timeutil import CST

INTAKE = Actor(name="test-intake", role="intake")
OPERATOR = Actor(name="test-operator", role="operator")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def new_ticket(**kw: Any) -> NewTicket:
    base: dict = dict(text="小区门口占道经营，堵住了消防通道", channel="telegram", event_type="street_occupation",
                      location_text="岳麓区岳麓街道桃子湖社区",
                      reporter=ReporterInput(name="张三", phone="13800138000", channel_identity="telegram:1001"))
    base.update(kw)
    return NewTicket(**base)


def make(db: Session, settings: Settings, now: datetime, **kw: Any):  # type: ignore[no-untyped-def]
    return TicketService(db, settings).create(INTAKE, new_ticket(**kw), now=now)
