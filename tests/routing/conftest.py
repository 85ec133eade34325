"""Fixtures: every DB-backed test runs on SQLite and on PostgreSQL (tests/support/databases.py:
the PostgreSQL half is skipped locally when no server answers, and fails when CI=true)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from routing.auth import store_token
from routing.settings import Settings
from tests.support.processes import free_port
from tests.support.databases import KINDS, Backend, rolled_back_session, migrated_database

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT = 60.0  # a hang guard, not a speed requirement

# Extra tokens written straight into the database for the API tests.
EXTRA_TOKENS: Dict[str, tuple] = {
    "staff_street": ("staff-street-token-0123456789abcdef", "staff", "430104001-ZFZD"),
    "staff_edu": ("staff-edu-token-0123456789abcdefgh", "staff", "430102-JY"),
}


def _setup(session: Session) -> None:
    for token, role, dept in EXTRA_TOKENS.values():
        store_token(session, token, role, dept)


@pytest.fixture(scope="session", params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with migrated_database(request.param, tmp_path_factory, "routing", _setup) as database:
        yield database


@pytest.fixture
def db(backend: Backend) -> Iterator[Session]:
    with rolled_back_session(backend) as session:
        yield session


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"ROUTING_DEDUP_WINDOW_HOURS": "72", "ROUTING_DEDUP_RADIUS_M": "200",
                              "DATABASE_URL": "sqlite://"})


@dataclass
class Server:
    base_url: str
    backend: Backend
    tokens: Dict[str, str]

    def client(self, role: str = "operator", **kw) -> httpx.Client:  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60.0, **kw)


@pytest.fixture(scope="session")
def server(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp(f"server-{backend.name}") / "server.log"
    env = {
        **os.environ,
        "DATABASE_URL": backend.url,
        "ROUTING_PORT": str(port),
        "ROUTING_HOST": "127.0.0.1",
        "ROUTING_ENV": "development",
        "ROUTING_DEV_TOKENS": "1",
        "ROUTING_AUTO_MIGRATE": "0",
        "ROUTING_ESCALATION_INTERVAL": "0",
        "ROUTING_MAX_TEXT_CHARS": "2000",
        "ROUTING_MAX_BODY_BYTES": "100000",
        "ROUTING_MAX_ATTACHMENT_BYTES": "50000",
        "ROUTING_ATTACHMENT_DIR": str(log.parent / "attachments"),
        "ROUTING_LOG_LEVEL": "warning",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "routing"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
    tokens = {
        "intake": "dev-intake-token", "operator": "dev-operator-token", "staff": "dev-staff-token",
        "supervisor": "dev-supervisor-token", **{k: v[0] for k, v in EXTRA_TOKENS.items()},
    }
    try:
        yield Server(base, backend, tokens)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
