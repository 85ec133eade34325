"""Time helpers: UTC in the database, China Standard Time (UTC+8) for people and calendars."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), name="Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken as UTC (that is how the database stores it)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_local(value: datetime) -> datetime:
    return as_utc(value).astimezone(CST)


def iso_local(value: "datetime | None") -> "str | None":
    """ISO 8601 with the +08:00 offset, seconds precision (Open311 and the JSON API)."""
    if value is None:
        return None
    return to_local(value).replace(microsecond=0).isoformat()


def parse_iso(text: str) -> datetime:
    """Parse ISO 8601 (a trailing Z allowed); a naive value is taken as China time."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=CST)
    return as_utc(value)
