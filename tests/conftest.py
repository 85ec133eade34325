"""Session fixtures shared by the NLU, conversation and end-to-end tests."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from tests.support.processes import (
    ROOT, RunningProcess, actions_command, backend_command, backend_env, base_env, free_port,
    rasa_command, running, trained_model,
)


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    return trained_model()


@pytest.fixture(scope="session")
def nlu_agent(rasa_model: Path):
    """The trained model loaded in process, for parse tests."""
    from rasa.core.agent import Agent

    return Agent.load(str(rasa_model))


@dataclass
class Stack:
    """The three processes of `make run`, on free ports, with a fresh SQLite backend."""

    backend: RunningProcess
    actions: RunningProcess
    rasa: RunningProcess
    work_dir: Path


@pytest.fixture(scope="session")
def stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("stack")
    backend_port, actions_port, rasa_port = free_port(), free_port(), free_port()
    credentials = work / "credentials.yml"
    credentials.write_text(yaml.safe_dump({"channels.rest.RestInput": None}), encoding="utf-8")
    endpoints = work / "endpoints.yml"
    # bot/endpoints.yml (the NLG that answers Traditional writers in Traditional) with this
    # stack's action server
    config = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8")) or {}
    config["action_endpoint"] = {"url": f"http://127.0.0.1:{actions_port}/webhook"}
    endpoints.write_text(yaml.safe_dump(config), encoding="utf-8")
    routing_url = f"http://127.0.0.1:{backend_port}"
    actions_env = base_env(
        ROUTING_URL=routing_url, ROUTING_TOKEN="dev-intake-token", ROUTING_RETRIES="1", ROUTING_BACKOFF="0.2",
        ROUTING_TIMEOUT="10", RASA_URL=f"http://127.0.0.1:{rasa_port}",
        ACTIONS_OUTBOX_PATH=str(work / "outbox.db"), ACTIONS_OUTBOX_INTERVAL="1", ACTIONS_OUTBOX_WORKER="1",
        # the REST channel stands in for Telegram & co.: the tests declare the channel identity
        ACTIONS_TRUST_REST_METADATA="1")
    with running("backend", backend_command(), backend_port, "/healthz", work,
                 backend_env(backend_port, f"sqlite:///{work / 'routing.db'}")) as backend, \
         running("actions", actions_command(actions_port), actions_port, "/health", work,
                 actions_env) as actions, \
         running("rasa", rasa_command(rasa_model, rasa_port, credentials, endpoints), rasa_port,
                 "/status", work, base_env()) as rasa:
        yield Stack(backend, actions, rasa, work)
