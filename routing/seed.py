"""Load the seed data files (routing/data/*.yml) into the database, idempotently.

Re-running updates rows in place (matched by region code, department code and rule key) and never
duplicates. Routing rules that disappeared from the files are deactivated, not deleted, so the
history of old tickets stays readable. Default rules come from the event catalogue.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.catalog import Catalog, load_catalog
from routing.models import REGION_LEVELS, Department, GridStaff, GridStaffIdentity, Region, RoutingRule

DATA_DIR = Path(__file__).with_name("data")
LEVEL_NAMES = set(REGION_LEVELS)


class SeedError(ValueError):
    """A seed file is malformed or refers to something that does not exist."""


@dataclass
class SeedReport:
    regions: int = 0
    departments: int = 0
    rules: int = 0
    deactivated_rules: int = 0
    grid_staff: int = 0

    def as_dict(self) -> Dict[str, int]:
        return dict(self.__dict__)


def _read(path: Path, key: str) -> List[Dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get(key)
    if not isinstance(items, list):
        raise SeedError(f"{path}: expected a list under {key!r}")
    return items


def _flatten_regions(items: Iterable[Dict[str, Any]], parent: Optional[str]) -> Iterable[Dict[str, Any]]:
    for item in items:
        for field in ("code", "name", "level"):
            if not item.get(field):
                raise SeedError(f"region {item!r}: missing {field}")
        if item["level"] not in LEVEL_NAMES:
            raise SeedError(f"region {item['code']}: level must be one of {REGION_LEVELS}")
        yield {**item, "code": str(item["code"]), "parent": parent}
        yield from _flatten_regions(item.get("children") or [], str(item["code"]))


def seed_regions(session: Session, path: Path) -> int:
    rows = list(_flatten_regions(_read(path, "regions"), None))
    codes = [r["code"] for r in rows]
    if len(codes) != len(set(codes)):
        raise SeedError(f"{path}: duplicate region codes")
    existing = {r.code: r for r in session.execute(select(Region)).scalars()}
    for row in rows:
        region = existing.get(row["code"])
        if region is None:
            region = Region(code=row["code"])
            session.add(region)
            existing[row["code"]] = region
        region.name = str(row["name"])
        region.level = row["level"]
        region.latitude = row.get("latitude")
        region.longitude = row.get("longitude")
        region.parent = existing[row["parent"]] if row["parent"] else None
    session.flush()
    return len(rows)


def seed_departments(session: Session, path: Path) -> int:
    rows = _read(path, "departments")
    regions = {r.code: r for r in session.execute(select(Region)).scalars()}
    existing = {d.code: d for d in session.execute(select(Department)).scalars()}
    seen = set()
    for row in rows:
        for field in ("code", "name", "kind", "level", "region"):
            if not row.get(field):
                raise SeedError(f"department {row!r}: missing {field}")
        code = str(row["code"])
        if code in seen:
            raise SeedError(f"{path}: duplicate department code {code}")
        seen.add(code)
        if row["level"] not in LEVEL_NAMES:
            raise SeedError(f"department {code}: level must be one of {REGION_LEVELS}")
        home = regions.get(str(row["region"]))
        if home is None:
            raise SeedError(f"department {code}: unknown region {row['region']}")
        served = []
        for rc in row.get("serves") or [row["region"]]:
            if str(rc) not in regions:
                raise SeedError(f"department {code}: unknown served region {rc}")
            served.append(regions[str(rc)])
        dept = existing.get(code)
        if dept is None:
            dept = Department(code=code)
            session.add(dept)
            existing[code] = dept
        dept.name = str(row["name"])
        dept.kind = str(row["kind"])
        dept.level = row["level"]
        dept.region = home
        dept.intake_desk = bool(row.get("intake_desk", False))
        dept.active = bool(row.get("active", True))
        dept.regions = served
    for row in rows:
        parent = row.get("parent")
        if parent and str(parent) not in existing:
            raise SeedError(f"department {row['code']}: unknown parent {parent}")
        existing[str(row["code"])].parent = existing[str(parent)] if parent else None
    session.flush()
    return len(rows)


def _upsert_rule(session: Session, existing: Dict[str, RoutingRule], key: str, **values: Any) -> None:
    rule = existing.get(key)
    if rule is None:
        rule = RoutingRule(key=key)
        session.add(rule)
        existing[key] = rule
    for name, value in values.items():
        setattr(rule, name, value)
    rule.active = True


def seed_rules(session: Session, path: Path, catalog: Catalog) -> int:
    regions = {r.code: r for r in session.execute(select(Region)).scalars()}
    departments = {d.code: d for d in session.execute(select(Department)).scalars()}
    kinds = {d.kind for d in departments.values()}
    existing = {r.key: r for r in session.execute(select(RoutingRule)).scalars()}
    wanted = set()
    for et in catalog:
        key = f"catalogue:{et.code}"
        wanted.add(key)
        _upsert_rule(
            session, existing, key, source="catalogue", event_type=et.code, region=None,
            region_level=None, department=None, department_kind=et.department, level=None,
            priority=0, note="事件目录默认规则 / catalogue default",
        )
    for row in _read(path, "rules"):
        key = str(row.get("key") or "")
        if not key or key.startswith("catalogue:"):
            raise SeedError(f"rule {row!r}: needs a key (not starting with catalogue:)")
        if key in wanted:
            raise SeedError(f"{path}: duplicate rule key {key}")
        wanted.add(key)
        event_type = str(row.get("event_type") or "")
        if event_type != "*" and event_type not in catalog:
            raise SeedError(f"rule {key}: unknown event type {event_type!r}")
        region = None
        if row.get("region") is not None:
            region = regions.get(str(row["region"]))
            if region is None:
                raise SeedError(f"rule {key}: unknown region {row['region']}")
        if row.get("region_level") is not None and row["region_level"] not in LEVEL_NAMES:
            raise SeedError(f"rule {key}: region_level must be one of {REGION_LEVELS}")
        if row.get("level") is not None and row["level"] not in LEVEL_NAMES:
            raise SeedError(f"rule {key}: level must be one of {REGION_LEVELS}")
        department = None
        if row.get("department"):
            department = departments.get(str(row["department"]))
            if department is None:
                raise SeedError(f"rule {key}: unknown department {row['department']}")
        kind = row.get("kind")
        if (department is None) == (not kind):
            raise SeedError(f"rule {key}: give exactly one of department or kind")
        if kind and kind not in kinds:
            raise SeedError(f"rule {key}: no department of kind {kind!r}")
        _upsert_rule(
            session, existing, key, source="data", event_type=event_type, region=region,
            region_level=row.get("region_level"), department=department,
            department_kind=str(kind) if kind else None, level=row.get("level"),
            priority=int(row.get("priority", 0)), note=row.get("note"),
        )
    deactivated = 0
    for key, rule in existing.items():
        if key not in wanted and rule.active:
            rule.active = False
            deactivated += 1
    session.flush()
    return deactivated


def seed_grid_staff(session: Session, path: Path) -> int:
    """Upsert grid workers by code; identities and grids are replaced by the file's; workers no
    longer in the file are deactivated."""
    from routing.grid import normalise_identity
    from routing.reporters import normalise_phone, valid_identity
    from routing.timeutil import utcnow

    if not path.exists():
        return 0
    rows = _read(path, "grid_staff")
    regions = {r.code: r for r in session.execute(select(Region)).scalars()}
    existing = {s.code: s for s in session.execute(select(GridStaff)).scalars()}
    owners: Dict[str, str] = {}
    seen: set = set()
    for row in rows:
        for field in ("code", "name", "grids"):
            if not row.get(field):
                raise SeedError(f"grid staff {row!r}: missing {field}")
        code = str(row["code"])
        if code in seen:
            raise SeedError(f"{path}: duplicate grid staff code {code}")
        seen.add(code)
        grids = []
        for rc in row["grids"]:
            region = regions.get(str(rc))
            if region is None or region.level != "grid":
                raise SeedError(f"grid staff {code}: {rc} is not a grid region")
            grids.append(region)
        identities = []
        for raw in row.get("identities") or []:
            ident = normalise_identity(str(raw))
            if not valid_identity(ident):
                raise SeedError(f"grid staff {code}: bad identity {raw!r} (channel:id)")
            if ident in owners:
                raise SeedError(f"{path}: identity {ident} used by {owners[ident]} and {code}")
            owners[ident] = code
            identities.append(ident)
        staff = existing.get(code)
        if staff is None:
            staff = GridStaff(code=code, created_at=utcnow())
            session.add(staff)
            existing[code] = staff
        staff.name = str(row["name"])
        staff.phone = normalise_phone(str(row["phone"])) if row.get("phone") else None
        staff.active = bool(row.get("active", True))
        staff.regions = grids
        have = {i.identity: i for i in staff.identities}
        staff.identities = [have.get(i) or GridStaffIdentity(identity=i) for i in identities]
    session.flush()
    wanted = {str(r["code"]) for r in rows}
    for code, staff in existing.items():
        if code not in wanted:
            staff.active = False
    session.flush()
    return len(rows)


def check_catalog_departments(session: Session, catalog: Catalog) -> List[str]:
    """Names used by the catalogue (department and assisting) without a department of that kind."""
    kinds = set(session.execute(select(Department.kind)).scalars())
    missing = set()
    for et in catalog:
        for name in (et.department, *et.assisting):
            if name not in kinds:
                missing.add(name)
    return sorted(missing)


def seed_all(session: Session, data_dir: Path = DATA_DIR, catalog: Optional[Catalog] = None) -> SeedReport:
    catalog = catalog or load_catalog()
    report = SeedReport()
    report.regions = seed_regions(session, data_dir / "regions.yml")
    report.departments = seed_departments(session, data_dir / "departments.yml")
    missing = check_catalog_departments(session, catalog)
    if missing:
        raise SeedError(f"departments.yml lacks departments of kind: {', '.join(missing)}")
    report.deactivated_rules = seed_rules(session, data_dir / "routing_rules.yml", catalog)
    report.rules = len(list(session.execute(select(RoutingRule.id).where(RoutingRule.active.is_(True)))))
    report.grid_staff = seed_grid_staff(session, data_dir / "grid_staff.yml")
    return report
