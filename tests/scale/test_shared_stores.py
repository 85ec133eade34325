"""Beyond one process: two rasa servers with the same model share the conversations through the
SQL tracker store on the real PostgreSQL and the per-conversation lock through the real Redis
(configured by RASA_TRACKER_STORE_URL / RASA_LOCK_STORE_URL, bot/endpoints.py). A load balancer
may send each message of a conversation to either server; the conversation must not notice.

Skipped locally without PostgreSQL or Redis; under CI=true those FAIL (tests/support/databases.py)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List

import httpx
import psycopg2
import pytest
import redis
from sqlalchemy.engine import make_url

from bot.endpoints import write as write_endpoints
from tests.support.databases import create_pg_database, drop_pg_database, redis_url
from tests.support.processes import (START_TIMEOUT, RunningProcess, actions_command, backend_command, backend_env,
                                     base_env, free_port, rasa_command, running, wait_until_up)

REQUEST_TIMEOUT = 120  # hang guard
KTV = "长沙市雨花区韶山路幸福小区楼下的KTV每天晚上唱到凌晨两点，吵得根本睡不着"


@dataclass
class Scaled:
    backend: RunningProcess
    servers: List[RunningProcess]
    tracker_db: str
    redis_url: str
    prefix: str


@pytest.fixture(scope="module")
def scaled(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scaled]:
    cache = redis_url()
    tracker_db = create_pg_database("rasa_trackers")
    prefix = f"petition-test-{uuid.uuid4().hex[:8]}"
    work = tmp_path_factory.mktemp("scaled")
    backend_port, actions_port = free_port(), free_port()
    ports = [free_port(), free_port()]
    endpoints = write_endpoints({"RASA_TRACKER_STORE_URL": tracker_db, "RASA_LOCK_STORE_URL": cache,
                                 "RASA_LOCK_STORE_PREFIX": prefix}, work / "endpoints.yml")
    credentials = work / "credentials.yml"
    credentials.write_text("channels.rest.RestInput:\n", encoding="utf-8")
    # Rasa lets a queued turn through once its ticket is older than TICKET_LOCK_LIFETIME (60 s)
    rasa_env = base_env(ACTION_SERVER_URL=f"http://127.0.0.1:{actions_port}/webhook", TICKET_LOCK_LIFETIME="900")
    actions_env = base_env(ROUTING_URL=f"http://127.0.0.1:{backend_port}", ROUTING_TOKEN="dev-intake-token",
                           ACTIONS_OUTBOX_PATH=str(work / "outbox.db"), ACTIONS_OUTBOX_WORKER="0")
    try:
        with running("backend", backend_command(), backend_port, "/healthz", work,
                     backend_env(backend_port, f"sqlite:///{work / 'routing.db'}")) as backend, \
             running("actions", actions_command(actions_port), actions_port, "/health", work, actions_env), \
             running("rasa-a", rasa_command(rasa_model, ports[0], credentials, endpoints), ports[0], "/status",
                     work, rasa_env, wait=False) as a, \
             running("rasa-b", rasa_command(rasa_model, ports[1], credentials, endpoints), ports[1], "/status",
                     work, rasa_env, wait=False) as b:
            # two models loading at once on a busy 2-core machine: a longer hang guard
            wait_until_up(a, "/status", timeout=2 * START_TIMEOUT)
            wait_until_up(b, "/status", timeout=2 * START_TIMEOUT)
            yield Scaled(backend, [a, b], tracker_db, cache, prefix)
    finally:
        drop_pg_database(tracker_db)
        client = redis.Redis.from_url(cache)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def say(server: RunningProcess, sender: str, text: str) -> List[str]:
    r = httpx.post(f"{server.url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                   timeout=REQUEST_TIMEOUT)
    r.raise_for_status()
    return [m.get("text", "") for m in r.json()]


def tracker(server: RunningProcess, sender: str) -> Dict[str, Any]:
    r = httpx.get(f"{server.url}/conversations/{sender}/tracker", timeout=REQUEST_TIMEOUT)
    r.raise_for_status()
    return r.json()


def test_a_report_goes_on_whichever_server_each_message_reaches(scaled: Scaled) -> None:
    a, b = scaled.servers
    sender = f"scaled-{uuid.uuid4().hex[:10]}"
    first = say(a, sender, KTV)
    assert first[0].startswith("收到，您反映的是「噪音扰民」")
    # the form's questions are answered on the other server, alternating, until the read-back
    answers = {"哪一方": "楼下KTV", "什么时候": "每天晚上十点以后", "联系电话": "13812345678", "在哪里": "幸福小区"}
    replies, servers = first, [b, a, b, a, b]
    for server in servers:
        if replies[-1].startswith("我跟您核对一下"):
            break
        key = next((k for k in answers if k in replies[-1]), None)
        assert key, replies
        replies = say(server, sender, answers[key])
    assert replies[-1].startswith("我跟您核对一下"), replies
    done = say(b if server is a else a, sender, "确认")
    assert done[0].startswith("已为您登记，工单号")
    # both servers see the same conversation, and it is stored in PostgreSQL
    events = tracker(a, sender)["events"]
    assert events == tracker(b, sender)["events"]
    url = make_url(scaled.tracker_db)
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                            dbname=url.database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM events WHERE sender_id = %s AND type_name = 'user'", (sender,))
            assert cur.fetchone()[0] == len([e for e in events if e["event"] == "user"]) >= 3
    finally:
        conn.close()
