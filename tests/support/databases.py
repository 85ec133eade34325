"""Migrated, seeded test databases on SQLite and on the real PostgreSQL; the real Redis.

PostgreSQL comes from ROUTING_TEST_PG_URL (default postgresql+psycopg2://postgres@127.0.0.1:5432/test);
each session gets a fresh database, dropped afterwards. Redis comes from REDIS_TEST_URL (default
redis://127.0.0.1:6379/0); tests keep to keys of their own prefix. When a server is unreachable
the tests that need it are skipped locally and FAIL under CI=true.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator, NoReturn

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from routing.db import make_engine, make_session_factory, session_scope
from routing.migrate import upgrade
from routing.seed import seed_all

PG_DEFAULT = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"
KINDS = ("sqlite", "postgresql")


def ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _unavailable(message: str) -> NoReturn:
    if ci():
        pytest.fail(message + " (CI=true: the server is required)")
    pytest.skip(message)


def redis_url() -> str:
    """The test Redis, after a PING."""
    import redis

    url = os.environ.get("REDIS_TEST_URL", REDIS_DEFAULT)
    try:
        redis.Redis.from_url(url, socket_timeout=5).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis unreachable at {url}: {exc}")
    return url


def _pg_admin():  # type: ignore[no-untyped-def]
    import psycopg2

    base = make_url(os.environ.get("ROUTING_TEST_PG_URL", PG_DEFAULT))
    conn = psycopg2.connect(host=base.host, port=base.port or 5432, user=base.username,
                            password=base.password, dbname=base.database or "postgres",
                            connect_timeout=5)
    conn.autocommit = True
    return conn, base


def create_pg_database(prefix: str) -> str:
    try:
        conn, base = _pg_admin()
    except Exception as exc:  # unreachable server
        _unavailable(f"PostgreSQL unreachable at {os.environ.get('ROUTING_TEST_PG_URL', PG_DEFAULT)}: {exc}")
    name = f"{prefix}_test_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    conn, _ = _pg_admin()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    conn.close()


@dataclass
class Backend:
    name: str
    url: str
    factory: sessionmaker


@contextlib.contextmanager
def migrated_database(kind: str, tmp_path_factory: pytest.TempPathFactory, prefix: str,
                      setup: Callable[[Session], None] = lambda session: None) -> Iterator[Backend]:
    """A database of `kind` migrated to head, seeded from routing/data, then `setup` run on it."""
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp(f'{prefix}-sqlite') / 'routing.db'}"
    else:
        url = create_pg_database(prefix)
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        seed_all(session)
        setup(session)
    try:
        yield Backend(kind, url, factory)
    finally:
        engine.dispose()
        if kind == "postgresql":
            drop_pg_database(url)


@contextlib.contextmanager
def rolled_back_session(backend: Backend) -> Iterator[Session]:
    """A session whose work is rolled back afterwards (the services never commit)."""
    session = backend.factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()
