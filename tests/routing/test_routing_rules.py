"""Routing: event type + region → department and level; unresolved → intake desk."""
from __future__ import annotations

from typing import Optional

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.models import Department, Region, RoutingRule
from routing.regions import get_region, resolve_region, resolve_text
from routing.routing_rules import escalation_target, route


def region(db: Session, code: str) -> Region:
    r = get_region(db, code)
    assert r is not None
    return r


def dept(db: Session, code: str) -> Department:
    return db.execute(select(Department).where(Department.code == code)).scalar_one()


def test_catalogue_default_goes_to_the_district_department(db: Session) -> None:
    d = route(db, "school_fees", region(db, "430102001001-G01"))
    assert d.department.code == "430102-JY" and d.level == "county" and not d.needs_operator
    assert d.rule_key == "catalogue:school_fees"


def test_most_local_department_of_the_kind(db: Session) -> None:
    d = route(db, "street_occupation", region(db, "430104001001"))
    assert d.department.code == "430104001-ZFZD"  # the street's enforcement squad, not the bureau
    assert d.level == "grid"
    d = route(db, "street_occupation", region(db, "430112"))  # 望城区: no street squad seeded
    assert d.department.code == "430112-CGZF"


def test_city_only_department(db: Session) -> None:
    d = route(db, "telecom_fraud", region(db, "430104001"))
    assert d.department.code == "430100-FZ"


def test_specific_region_rule_beats_the_default(db: Session) -> None:
    d = route(db, "tourism", region(db, "430104001002"))  # inside 岳麓街道
    assert d.department.code == "430104-YLSFJQ" and d.rule_key == "yuelu-mountain-tourism"
    d = route(db, "tourism", region(db, "430104003"))  # elsewhere in 岳麓区
    assert d.department.code == "430104-WL"


def test_region_kind_override(db: Session) -> None:
    d = route(db, "noise_pollution", region(db, "430104003001"))
    assert d.department.code == "430104-GA" and d.rule_key == "yuelu-street-noise"
    assert route(db, "noise_pollution", region(db, "430102")).department.code == "430102-STHJ"


def test_region_level_rule(db: Session) -> None:
    d = route(db, "neighbour_dispute", region(db, "430112"))  # county only: no 司法所 known
    assert d.department.code == "430112-SFJ"
    d = route(db, "neighbour_dispute", region(db, "430104003001"))
    assert d.department.code == "430104003-SFS"


def test_wildcard_rule_and_specific_beats_wildcard(db: Session) -> None:
    target = dept(db, "430103-SLZX")
    db.add(RoutingRule(key="test-wildcard", source="data", event_type="*", region=region(db, "430103"),
                       department=target, priority=10, active=True))
    db.flush()
    assert route(db, "water_supply", region(db, "430103001001")).department.code == "430103-SLZX"
    db.add(RoutingRule(key="test-specific", source="data", event_type="water_supply", region=region(db, "430103"),
                       department=dept(db, "430103-SW"), priority=10, active=True))
    db.flush()
    assert route(db, "water_supply", region(db, "430103001001")).department.code == "430103-SW"
    assert route(db, "gas_supply", region(db, "430103001001")).department.code == "430103-SLZX"


@pytest.mark.parametrize("code,desk", [(None, "430100-SLZX"), ("430100", "430100-SLZX")])
def test_unresolved_region_goes_to_the_intake_desk(db: Session, code: Optional[str], desk: str) -> None:
    d = route(db, "school_fees", region(db, code) if code else None)
    assert d.department.code == desk and d.needs_operator and d.department.intake_desk


def test_unknown_type_goes_to_the_local_intake_desk(db: Session) -> None:
    d = route(db, None, region(db, "430104001001-G02"))
    assert d.department.code == "430104001-SLZX" and d.needs_operator
    assert route(db, "no_such_type", region(db, "430181")).department.code == "430181-SLZX"


def test_inactive_department_falls_through(db: Session) -> None:
    dept(db, "430104001-ZFZD").active = False
    db.flush()
    assert route(db, "street_occupation", region(db, "430104001001")).department.code == "430104-CGZF"


def test_escalation_target(db: Session) -> None:
    squad = dept(db, "430104001-ZFZD")
    up = escalation_target(squad, "grid")
    assert up is not None and up.level == "village-community" and up.department is squad
    up = escalation_target(squad, "township")
    assert up is not None and up.level == "county" and up.department.code == "430104-CGZF"
    up = escalation_target(dept(db, "430104-CGZF"), "county")
    assert up is not None and up.level == "city" and up.department.code == "430100-CGZF"
    assert escalation_target(dept(db, "430100-CGZF"), "city") is None


@pytest.mark.parametrize("text,code", [
    ("岳麓区岳麓街道桃子湖社区3栋", "430104001001"),
    ("长沙市岳麓区望月湖街道", "430104003"),
    ("桃子湖那边的菜市场", "430104001001"),
    ("芙蓉区文艺路", "430102001"),
    ("长沙市浏阳市某某镇", "430181"),
    ("湖南省长沙市开福区某小区", "430105"),
])
def test_location_text_resolution(db: Session, text: str, code: str) -> None:
    r = resolve_text(db, text)
    assert r is not None and r.code == code


def test_unresolvable_text(db: Session) -> None:
    assert resolve_text(db, "我家楼下") is None
    assert resolve_text(db, "") is None
    assert resolve_region(db, "430104001", "芙蓉区").code == "430104001"  # an explicit code wins


def test_short_name_inside_a_longer_name_does_not_count(db: Session) -> None:
    assert resolve_text(db, "岳麓区某小区门口").code == "430104"  # not 岳麓街道
