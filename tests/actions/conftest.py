"""Action tests in the rasa-sdk style: a Tracker built in the test, a CollectingDispatcher, the
domain as the action server receives it, and the routing backend over real HTTP on a fresh SQLite
database (started with tests/support/processes.py)."""
from __future__ import annotations

import os

# The tests drive delivery themselves: importing the package here starts no delivery thread. The
# variable is restored so that action servers other suites start still run theirs.
_previous = os.environ.get("ACTIONS_OUTBOX_WORKER")
os.environ["ACTIONS_OUTBOX_WORKER"] = "0"
import actions  # noqa: E402,F401
if _previous is None:
    del os.environ["ACTIONS_OUTBOX_WORKER"]
else:
    os.environ["ACTIONS_OUTBOX_WORKER"] = _previous

from pathlib import Path  # noqa: E402
from typing import Any, Dict, Iterator  # noqa: E402

import pytest  # noqa: E402

from tests.support.processes import ROOT, backend_command, backend_env, free_port, running  # noqa: E402


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "bot" / "domain")).as_dict()


@pytest.fixture(scope="session")
def backend_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("actions-backend")
    port = free_port()
    with running("backend", backend_command(), port, "/healthz", work,
                 backend_env(port, f"sqlite:///{work / 'routing.db'}")) as proc:
        yield proc.url


@pytest.fixture(autouse=True)
def action_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend_url: str) -> Path:
    outbox = tmp_path / "outbox.db"
    monkeypatch.setenv("ROUTING_URL", backend_url)
    monkeypatch.setenv("ROUTING_TOKEN", "dev-intake-token")
    monkeypatch.setenv("ROUTING_RETRIES", "1")
    monkeypatch.setenv("ROUTING_BACKOFF", "0.05")
    monkeypatch.setenv("ACTIONS_OUTBOX_PATH", str(outbox))
    monkeypatch.setenv("ACTIONS_TRUST_REST_METADATA", "1")  # trackers here declare channel identities
    monkeypatch.delenv("RASA_URL", raising=False)
    return outbox


