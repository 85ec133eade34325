"""Seed data: complete for the catalogue, idempotent, and a migration that matches the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.catalog import load_catalog
from routing.models import Base, Department, Region, RoutingRule
from routing.seed import check_catalog_departments, seed_all


def _counts(db: Session) -> tuple:
    return tuple(db.execute(select(func.count()).select_from(m)).scalar_one() for m in (Region, Department, RoutingRule))


def test_every_catalogue_department_exists(db: Session) -> None:
    assert check_catalog_departments(db, load_catalog()) == []


def test_reseeding_updates_and_never_duplicates(db: Session) -> None:
    before = _counts(db)
    report = seed_all(db)
    assert _counts(db) == before
    assert report.rules == before[2]
    dept = db.execute(select(Department).where(Department.code == "430104-JY")).scalar_one()
    dept.name = "改过的名字"
    db.flush()
    seed_all(db)
    assert dept.name == "岳麓区教育局"
    assert _counts(db) == before


def test_catalogue_rules_and_overrides(db: Session) -> None:
    keys = set(db.execute(select(RoutingRule.key)).scalars())
    assert {f"catalogue:{t.code}" for t in load_catalog()} <= keys
    assert "yuelu-mountain-tourism" in keys


def test_region_tree(db: Session) -> None:
    city = db.execute(select(Region).where(Region.code == "430100")).scalar_one()
    assert city.level == "city" and city.parent is None
    grid = db.execute(select(Region).where(Region.code == "430104001001-G01")).scalar_one()
    chain = []
    r = grid
    while r is not None:
        chain.append(r.level)
        r = r.parent
    assert chain == ["grid", "village-community", "township", "county", "city"]
    assert db.execute(select(Region).where(Region.code == "430104")).scalar_one().name == "岳麓区"


def test_migration_matches_models(db: Session) -> None:
    ctx = MigrationContext.configure(db.connection(), opts={"compare_type": True})
    assert compare_metadata(ctx, Base.metadata) == []
