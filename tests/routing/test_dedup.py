"""集中反映: same type, same place, within the window → linked to the open primary."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from routing.dedup import distance_m
from routing.service import TicketService
from routing.settings import Settings

from helpers import OPERATOR, cst, make

T0 = cst(2024, 5, 6, 10, 0)


def test_same_community_is_a_duplicate(db: Session, settings: Settings) -> None:
    first = make(db, settings, T0)
    second = make(db, settings, T0 + timedelta(hours=5), text="又有人在桃子湖摆摊", location_text="桃子湖社区")
    assert second.duplicate_of is first and second.number != first.number
    assert first.duplicate_count == 1
    assert second.department is first.department
    kinds = [e.kind for e in first.events]
    assert "duplicate_linked" in kinds
    third = make(db, settings, T0 + timedelta(hours=6), location_text="桃子湖社区2栋")
    assert third.duplicate_of is first and first.duplicate_count == 2


def test_other_type_or_outside_window_is_not(db: Session, settings: Settings) -> None:
    first = make(db, settings, T0)
    other = make(db, settings, T0 + timedelta(hours=1), event_type="sanitation")
    late = make(db, settings, T0 + timedelta(hours=73))
    assert other.duplicate_of is None and late.duplicate_of is None
    assert first.duplicate_count == 0


def test_township_level_region_alone_is_not_enough(db: Session, settings: Settings) -> None:
    make(db, settings, T0, location_text="望月湖街道某路口", event_type="municipal_facilities")
    b = make(db, settings, T0 + timedelta(hours=1), location_text="望月湖街道另一头", event_type="municipal_facilities")
    assert b.duplicate_of is None


def test_same_normalised_location_text(db: Session, settings: Settings) -> None:
    a = make(db, settings, T0, location_text="金星北路１２３号 门口", event_type="municipal_facilities")
    b = make(db, settings, T0 + timedelta(hours=2), location_text="金星北路123号门口", event_type="municipal_facilities")
    assert b.duplicate_of is a


def test_coordinates_within_radius(db: Session, settings: Settings) -> None:
    a = make(db, settings, T0, location_text=None, latitude=28.2000, longitude=112.9000, event_type="air_pollution")
    near = make(db, settings, T0 + timedelta(hours=1), location_text=None, latitude=28.2009, longitude=112.9000,
                event_type="air_pollution")  # ~100 m north
    far = make(db, settings, T0 + timedelta(hours=1), location_text=None, latitude=28.2100, longitude=112.9000,
               event_type="air_pollution")  # ~1.1 km
    assert near.duplicate_of is a and far.duplicate_of is None
    assert 90 < distance_m(28.2, 112.9, 28.2009, 112.9) < 110


def test_finished_primary_is_not_reused(db: Session, settings: Settings) -> None:
    a = make(db, settings, T0, event_type="landscaping")
    service = TicketService(db, settings)
    for action, payload in (("dispatch", {}), ("accept", {}), ("resolve", {"reply": "已处理"})):
        service.act(OPERATOR, a.number, action, payload, now=T0 + timedelta(minutes=5))
    b = make(db, settings, T0 + timedelta(hours=1), event_type="landscaping")
    assert b.duplicate_of is None


def test_window_zero_disables(db: Session) -> None:
    off = Settings.from_env({"ROUTING_DEDUP_WINDOW_HOURS": "0", "DATABASE_URL": "sqlite://"})
    make(db, off, T0, event_type="public_order")
    assert make(db, off, T0 + timedelta(minutes=1), event_type="public_order").duplicate_of is None
