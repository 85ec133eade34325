"""Fixtures of the console and triage tests.

* `backend`: a migrated, seeded database — SQLite and PostgreSQL, like tests/routing (the
  PostgreSQL half is skipped locally when no server answers, and fails when CI=true).
* `fake_nlu`: a deterministic fake rasa server (tests/console/fake_nlu.py) on a free port.
* `server`: the real backend (`python -m routing`) on a free port, talking to the fake NLU.
* `browser`: headless Chromium through Selenium (skipped when chromium or chromedriver is
  missing, failed when CI=true).
Start-up waits are hang guards only; nothing asserts on speed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from routing.auth import store_token
from routing.console.auth import create_user
from routing.settings import Settings
from tests.support.processes import free_port
from tests.support.databases import KINDS, Backend, rolled_back_session, ci, migrated_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from console_env import PASSWORD, TOKENS, USERS  # noqa: E402
from fake_nlu import FakeNLU  # noqa: E402

START_TIMEOUT = 60.0  # hang guard
CHROMIUM = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
def _setup(session: Session) -> None:
    for token, role, dept in TOKENS.values():
        store_token(session, token, role, dept)
    for username, (role, dept, display) in USERS.items():
        create_user(session, username, PASSWORD, role, dept, display)


@pytest.fixture(scope="session", params=KINDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    with migrated_database(request.param, tmp_path_factory, "console", _setup) as database:
        yield database


@pytest.fixture
def db(backend: Backend) -> Iterator[Session]:
    with rolled_back_session(backend) as session:
        yield session


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"DATABASE_URL": "sqlite://", "ROUTING_DEDUP_WINDOW_HOURS": "72"})


@pytest.fixture(scope="session")
def fake_nlu() -> Iterator[FakeNLU]:
    nlu = FakeNLU().start()
    try:
        yield nlu
    finally:
        nlu.stop()


@dataclass
class Server:
    base_url: str
    backend: Backend
    nlu_url: str
    log: Path
    env: Dict[str, str] = field(default_factory=dict)

    def client(self, role: str = "operator", **kw) -> httpx.Client:  # type: ignore[no-untyped-def]
        headers = {"Authorization": f"Bearer {TOKENS[role][0]}"} if role else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60.0, **kw)


def start_backend(url: str, port: int, log: Path, extra: Dict[str, str]) -> subprocess.Popen:
    env = {
        **os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "ROUTING_PORT": str(port),
        "ROUTING_HOST": "127.0.0.1", "ROUTING_ENV": "development", "ROUTING_DEV_TOKENS": "1",
        "ROUTING_AUTO_MIGRATE": "0", "ROUTING_ESCALATION_INTERVAL": "0", "ROUTING_LOG_LEVEL": "warning",
        "ROUTING_ATTACHMENT_DIR": str(log.parent / "attachments"), "NOTIFICATIONS_ENABLED": "0", **extra,
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "routing"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def server(backend: Backend, fake_nlu: FakeNLU, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    log = tmp_path_factory.mktemp(f"console-server-{backend.name}") / "server.log"
    extra = {"RASA_URL": fake_nlu.url, "RASA_TIMEOUT": "10"}
    proc = start_backend(backend.url, port, log, extra)
    try:
        yield Server(f"http://127.0.0.1:{port}", backend, fake_nlu.url, log, extra)
    finally:
        stop(proc)


# ---------------------------------------------------------------------------------------- browser
def _chromium_missing() -> List[str]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    return missing


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    missing = _chromium_missing()
    if missing:
        message = f"browser tests need {', '.join(missing)} (apt-get install chromium chromium-driver; pip install selenium)"
        if ci():
            pytest.fail(message + " — CI=true: required")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                "--window-size=1366,900", "--lang=zh-CN", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
