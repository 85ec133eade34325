"""Run the Alembic migrations programmatically (used by the CLI, the server and the tests)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config

from routing.settings import PROJECT_ROOT

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: Optional[str] = None) -> Config:
    ini = PROJECT_ROOT / "alembic.ini"
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["configure_logging"] = False
    if url:
        cfg.attributes["url"] = url
    return cfg


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: Optional[str] = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
