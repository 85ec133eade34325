"""Routing: event type + resolved region → department and handling level.

Rules are rows (`routing_rules`, seeded from the catalogue and routing/data/routing_rules.yml).
A rule applies when its event type is the ticket's or "*", its region is the ticket's region or
an ancestor (or it has none) and its region_level, if any, is the level the ticket was resolved
to. The best rule has the highest priority, then the deepest region, then names the type rather
than "*". A rule names a department, or a department kind resolved against the region (the most
local department of that kind serving the region or an ancestor).

When the region is unknown or only the city is known, the event type is unknown, or no rule finds
a department, the ticket goes to the 受理中心 (intake desk) of the deepest known region for manual
dispatch, flagged `needs_operator`. Never nowhere.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from routing.catalog import Catalog, load_catalog
from routing.models import REGION_LEVELS, Department, Region, RoutingRule, department_regions
from routing.regions import ancestors

LEVEL_ORDER: Dict[str, int] = {"grid": 0, "village-community": 1, "township": 2, "county": 3, "city": 4}
INTAKE_KIND = "受理中心"


class RoutingError(RuntimeError):
    """No department at all could take the ticket (the seed data lacks an intake desk)."""


@dataclass
class RouteDecision:
    department: Department
    level: str
    needs_operator: bool
    rule_key: Optional[str]
    reason: str


def department_of_kind(session: Session, kind: str, chain: List[Region]) -> Optional[Department]:
    """The active department of `kind` serving the deepest region of `chain` (deepest first)."""
    if not chain:
        return None
    ids = [r.id for r in chain]
    rows = session.execute(
        select(Department, department_regions.c.region_id)
        .join(department_regions, department_regions.c.department_id == Department.id)
        .where(Department.kind == kind, Department.active.is_(True), department_regions.c.region_id.in_(ids))
    ).all()
    if not rows:
        return None
    rank = {rid: i for i, rid in enumerate(ids)}
    best = min(rows, key=lambda row: (rank[row[1]], row[0].id))
    return best[0]


def intake_desk(session: Session, region: Optional[Region]) -> Department:
    """The intake desk of the deepest region in the chain; the top-level desk without a region."""
    desk = department_of_kind(session, INTAKE_KIND, ancestors(region)) if region is not None else None
    if desk is None:
        desks = list(
            session.execute(
                select(Department).where(Department.intake_desk.is_(True), Department.active.is_(True))
            ).scalars()
        )
        if not desks:
            raise RoutingError("no intake desk (受理中心) in the departments data")
        desk = max(desks, key=lambda d: (LEVEL_ORDER.get(d.level, 0), -d.id))
    return desk


def _to_desk(session: Session, region: Optional[Region], reason: str) -> RouteDecision:
    desk = intake_desk(session, region)
    return RouteDecision(desk, desk.level, True, None, reason)


def route(
    session: Session, event_type: Optional[str], region: Optional[Region], catalog: Optional[Catalog] = None
) -> RouteDecision:
    catalog = catalog or load_catalog()
    et = catalog.get(event_type) if event_type else None
    if et is None:
        return _to_desk(session, region, "事件类型未识别，转受理中心人工分拨 / unknown event type: manual dispatch")
    if region is None or region.level == "city":
        return _to_desk(session, region, "地址未能定位到区县，转受理中心人工分拨 / location not resolved: manual dispatch")
    chain = ancestors(region)
    depth = {r.id: len(chain) - i for i, r in enumerate(chain)}
    rules = session.execute(
        select(RoutingRule).where(
            RoutingRule.active.is_(True),
            RoutingRule.event_type.in_([et.code, "*"]),
            or_(RoutingRule.region_id.is_(None), RoutingRule.region_id.in_(list(depth))),
            or_(RoutingRule.region_level.is_(None), RoutingRule.region_level == region.level),
        )
    ).scalars()
    ordered = sorted(
        rules,
        key=lambda r: (r.priority, depth.get(r.region_id, 0), r.event_type != "*", -r.id),
        reverse=True,
    )
    for rule in ordered:
        if rule.department is not None:
            dept = rule.department if rule.department.active else None
        else:
            dept = department_of_kind(session, rule.department_kind or "", chain)
        if dept is None:
            continue
        level = rule.level or et.level
        needs_operator = bool(dept.intake_desk)
        return RouteDecision(dept, level, needs_operator, rule.key, rule.note or "")
    return _to_desk(session, region, "没有适用的分拨规则，转受理中心人工分拨 / no rule matched: manual dispatch")


def next_level(level: str) -> Optional[str]:
    order = sorted(LEVEL_ORDER, key=LEVEL_ORDER.__getitem__)
    i = order.index(level) if level in order else len(order) - 1
    return order[i + 1] if i + 1 < len(order) else None


def escalation_target(department: Optional[Department], level: str,
                      to_level: Optional[str] = None) -> Optional[RouteDecision]:
    """One level up (or straight to `to_level`, e.g. a grid worker escalating to the township):
    the new level, and the parent department once the level passes its own (with `to_level`,
    up the parents until one is at that level or above)."""
    new_level = to_level or next_level(level)
    if new_level is None or department is None or new_level not in LEVEL_ORDER:
        return None
    target = department
    if LEVEL_ORDER[new_level] > LEVEL_ORDER.get(department.level, 0) and department.parent is not None:
        if department.parent.active:
            target = department.parent
    while (to_level is not None and LEVEL_ORDER[new_level] > LEVEL_ORDER.get(target.level, 0)
           and target.parent is not None and target.parent.active):
        target = target.parent
    return RouteDecision(target, new_level, bool(target.intake_desk), None, f"升级至{new_level}")


assert set(LEVEL_ORDER) == set(REGION_LEVELS)
