"""Settings: safe defaults, production refuses placeholders."""
from __future__ import annotations

import pytest

from routing.settings import Settings, SettingsError, parse_bootstrap_tokens


def test_defaults() -> None:
    s = Settings.from_env({})
    assert s.port == 8000 and s.env == "development" and s.database_url.endswith("var/routing.db")
    assert s.database_url.startswith("sqlite:///") and not s.dev_tokens
    s.check()


def test_production_refuses_dev_tokens() -> None:
    with pytest.raises(SettingsError, match="ROUTING_DEV_TOKENS"):
        Settings.from_env({"ROUTING_ENV": "production", "ROUTING_DEV_TOKENS": "1"}).check()


@pytest.mark.parametrize("token", ["dev-operator-token", "changeme-changeme-changeme", "short"])
def test_production_refuses_placeholder_tokens(token: str) -> None:
    env = {"ROUTING_ENV": "production", "ROUTING_BOOTSTRAP_TOKENS": f"operator:{token}"}
    with pytest.raises(SettingsError, match="placeholder"):
        Settings.from_env(env).check()


def test_production_accepts_a_real_token() -> None:
    env = {"ROUTING_ENV": "production", "ROUTING_BOOTSTRAP_TOKENS": "operator:Zq8v0N3kR4pL2mX7cT9wB5yH1"}
    Settings.from_env(env).check()


def test_bootstrap_token_parsing() -> None:
    toks = parse_bootstrap_tokens("operator:abc; staff:def:430104-JY\nintake:ghi")
    assert [(t.role, t.token, t.department_code) for t in toks] == [
        ("operator", "abc", None), ("staff", "def", "430104-JY"), ("intake", "ghi", None)]
    with pytest.raises(SettingsError):
        parse_bootstrap_tokens("staff:nodept")
    with pytest.raises(SettingsError):
        parse_bootstrap_tokens("admin:xyz")


def test_bad_values() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"ROUTING_PORT": "eighty"})
    with pytest.raises(SettingsError):
        Settings.from_env({"ROUTING_ENV": "staging"})
    with pytest.raises(SettingsError):
        Settings.from_env({"ROUTING_PORT": "70000"}).check()
