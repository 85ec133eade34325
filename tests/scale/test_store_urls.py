"""bot.endpoints: the shared stores a deployment names by URL become the endpoints.yml sections."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.endpoints import BASE, StoreUrlError, build, lock_store, tracker_store, write


def test_postgresql_tracker_store():
    assert tracker_store("postgresql+psycopg2://rasa:p%40ss@db.internal:5433/trackers") == {
        "type": "SQL", "dialect": "postgresql", "url": "db.internal", "port": 5433, "db": "trackers",
        "login_db": "postgres", "username": "rasa", "password": "p@ss"}


def test_sqlite_and_redis_tracker_stores():
    assert tracker_store("sqlite:////var/lib/rasa/trackers.db") == {"type": "SQL", "dialect": "sqlite",
                                                                   "db": "/var/lib/rasa/trackers.db"}
    assert tracker_store("redis://:secret@cache:6380/2") == {"type": "redis", "url": "cache", "port": 6380, "db": 2,
                                                            "password": "secret"}


def test_redis_lock_store_with_prefix_and_tls():
    assert lock_store("redis://127.0.0.1:6379/1", "city-a") == {"type": "redis", "url": "127.0.0.1", "port": 6379,
                                                               "db": 1, "key_prefix": "city-a"}
    assert lock_store("rediss://cache/0")["use_ssl"] is True


@pytest.mark.parametrize("builder, url", [
    (tracker_store, "mysql://db/rasa"), (tracker_store, "postgresql://db"), (tracker_store, "sqlite://"),
    (lock_store, "postgresql://db/x"), (lock_store, "redis://cache/one"), (lock_store, "redis:///1"),
])
def test_unusable_urls_are_refused_with_the_variable_named(builder, url):
    with pytest.raises(StoreUrlError, match="RASA_"):
        builder(url)


def test_nothing_set_keeps_the_embedded_default(tmp_path: Path):
    assert write({}, tmp_path / "endpoints.yml") == BASE
    config = build({})
    assert "tracker_store" not in config and "lock_store" not in config
    assert config["nlg"]["type"] == "bot.nlg.ScriptAwareNLG"


def test_the_merged_file_keeps_the_base_settings(tmp_path: Path):
    out = write({"RASA_TRACKER_STORE_URL": "postgresql://postgres@127.0.0.1/rasa",
                 "RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/1", "RASA_LOCK_STORE_PREFIX": "t1"},
                tmp_path / "endpoints.yml")
    config = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert out.stat().st_mode & 0o077 == 0  # passwords: readable by the owner only
    assert config["action_endpoint"] == {"url": "${ACTION_SERVER_URL}"}  # rasa fills it in at start
    assert config["tracker_store"]["db"] == "rasa" and config["lock_store"]["key_prefix"] == "t1"
