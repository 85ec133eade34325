"""The rasa server's endpoints: bot/endpoints.yml, plus shared stores when the deployment asks for them.

Embedded default (nothing set): Rasa's in-memory tracker and lock stores — one rasa process.
Beyond one process (docs/scale.md), several rasa servers behind a load balancer share:

- ``RASA_TRACKER_STORE_URL`` — the conversations: ``postgresql://user:password@host:5432/rasa``
  (Rasa's SQL tracker store; the database is created through ``login_db``, default ``postgres``,
  when it does not exist), ``sqlite:///path/to/trackers.db``, or ``redis://host:6379/2``;
- ``RASA_LOCK_STORE_URL`` — the per-conversation lock, so that two messages of one conversation
  arriving at two servers are handled one after the other: ``redis://[:password@]host:6379/1``;
  ``RASA_LOCK_STORE_PREFIX`` keeps several deployments apart on one Redis (default ``petition``).

``python -m bot.endpoints --out var/endpoints.yml`` writes the merged file and prints its path
(bot/endpoints.yml itself when no store is configured); scripts/run.sh and the tests use it.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "bot" / "endpoints.yml"
DEFAULT_LOGIN_DB = "postgres"
DEFAULT_PREFIX = "petition"


class StoreUrlError(ValueError):
    """A store URL this deployment cannot use (wrong scheme, missing host or database)."""


def _db_index(path: str, what: str) -> int:
    raw = path.strip("/") or "0"
    if not raw.isdigit():
        raise StoreUrlError(f"{what}: the Redis database must be a number, not {raw!r}")
    return int(raw)


def tracker_store(url: str, login_db: str = DEFAULT_LOGIN_DB) -> Dict[str, Any]:
    """RASA_TRACKER_STORE_URL → the endpoints.yml `tracker_store` section."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+")[0]
    if scheme in ("postgresql", "postgres"):
        db = parts.path.strip("/")
        if not parts.hostname or not db:
            raise StoreUrlError("RASA_TRACKER_STORE_URL: postgresql://user@host:port/database needs host and database")
        out: Dict[str, Any] = {"type": "SQL", "dialect": "postgresql", "url": parts.hostname,
                               "port": parts.port or 5432, "db": db, "login_db": login_db}
        if parts.username:
            out["username"] = unquote(parts.username)
        if parts.password:
            out["password"] = unquote(parts.password)
        return out
    if scheme == "sqlite":
        path = url.split("sqlite:///", 1)[-1] if "sqlite:///" in url else ""
        if not path:
            raise StoreUrlError("RASA_TRACKER_STORE_URL: sqlite:///path/to/file.db needs a path")
        return {"type": "SQL", "dialect": "sqlite", "db": path}
    if scheme == "redis":
        return {"type": "redis", **_redis(parts, "RASA_TRACKER_STORE_URL")}
    raise StoreUrlError(f"RASA_TRACKER_STORE_URL: unsupported scheme {parts.scheme!r} "
                        "(postgresql://, sqlite:///, redis://)")


def _redis(parts: Any, what: str) -> Dict[str, Any]:
    if not parts.hostname:
        raise StoreUrlError(f"{what}: redis://host:port/db needs a host")
    out: Dict[str, Any] = {"url": parts.hostname, "port": parts.port or 6379, "db": _db_index(parts.path, what)}
    if parts.password:
        out["password"] = unquote(parts.password)
    return out


def lock_store(url: str, prefix: str = DEFAULT_PREFIX) -> Dict[str, Any]:
    """RASA_LOCK_STORE_URL → the endpoints.yml `lock_store` section (Redis only)."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise StoreUrlError(f"RASA_LOCK_STORE_URL: unsupported scheme {parts.scheme!r} (redis://)")
    out = {"type": "redis", **_redis(parts, "RASA_LOCK_STORE_URL"), "key_prefix": prefix}
    if parts.scheme == "rediss":
        out["use_ssl"] = True
    return out


def build(env: Mapping[str, str], base: Path = BASE) -> Dict[str, Any]:
    """bot/endpoints.yml with the stores the environment names."""
    config: Dict[str, Any] = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
    tracker = env.get("RASA_TRACKER_STORE_URL", "").strip()
    lock = env.get("RASA_LOCK_STORE_URL", "").strip()
    if tracker:
        config["tracker_store"] = tracker_store(tracker, env.get("RASA_TRACKER_LOGIN_DB", "").strip() or DEFAULT_LOGIN_DB)
    if lock:
        config["lock_store"] = lock_store(lock, env.get("RASA_LOCK_STORE_PREFIX", "").strip() or DEFAULT_PREFIX)
    return config


def write(env: Mapping[str, str], out: Path, base: Path = BASE) -> Path:
    """The endpoints file to start rasa with: `base` itself when nothing is added."""
    config = build(env, base)
    if "tracker_store" not in config and "lock_store" not in config:
        return base
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out.chmod(0o600)  # it holds the stores' passwords
    return out


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "endpoints.yml")
    args = parser.parse_args(argv)
    try:
        print(write(os.environ, args.out))
    except StoreUrlError as exc:
        parser.exit(2, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
