"""集中反映: link a new ticket to an open ticket about the same thing at the same place.

A new ticket is a duplicate of an open primary ticket (not itself a duplicate) when it has the
same event type, the primary was received within the window (ROUTING_DEDUP_WINDOW_HOURS, 72 h by
default) and the place is the same by one of:
  * the same resolved region, when that region is a grid or a village/community;
  * the same normalised location text;
  * coordinates within ROUTING_DEDUP_RADIUS_M metres (200 m by default).
The new ticket keeps its own number; `duplicate_of_id` points to the primary, whose
`duplicate_count` grows by one. The most recent matching primary wins.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.lifecycle import OPEN_STATES
from routing.models import Region, Ticket

EARTH_RADIUS_M = 6_371_000.0
_FINE_LEVELS = ("grid", "village-community")


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def same_place(
    candidate: Ticket,
    region: Optional[Region],
    location_key: Optional[str],
    lat: Optional[float],
    lon: Optional[float],
    radius_m: float,
) -> bool:
    if region is not None and region.level in _FINE_LEVELS and candidate.region_id == region.id:
        return True
    if location_key and candidate.location_key == location_key:
        return True
    if None not in (lat, lon, candidate.latitude, candidate.longitude):
        return distance_m(lat, lon, candidate.latitude, candidate.longitude) <= radius_m  # type: ignore[arg-type]
    return False


def find_primary(
    session: Session,
    event_type: Optional[str],
    region: Optional[Region],
    location_key: Optional[str],
    lat: Optional[float],
    lon: Optional[float],
    now: datetime,
    window_hours: float,
    radius_m: float,
) -> Optional[Ticket]:
    if not event_type or window_hours <= 0:
        return None
    if region is None and not location_key and (lat is None or lon is None):
        return None
    since = now - timedelta(hours=window_hours)
    candidates = session.execute(
        select(Ticket)
        .where(
            Ticket.event_type == event_type,
            Ticket.duplicate_of_id.is_(None),
            # not one whose type is only a guess (hand-off, dropped call): a confident report
            # linked to it would inherit the intake desk and the flag
            Ticket.type_guessed.is_(False),
            Ticket.state.in_(sorted(OPEN_STATES)),
            Ticket.created_at >= since,
            Ticket.created_at <= now,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(200)
    ).scalars()
    for candidate in candidates:
        if same_place(candidate, region, location_key, lat, lon, radius_m):
            return candidate
    return None
