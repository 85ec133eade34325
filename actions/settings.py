"""Settings of the action server, read from the environment on every use (tests change them)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


def _int(name: str, default: int) -> int:
    return int(_float(name, default))


@dataclass(frozen=True)
class Settings:
    routing_url: str
    routing_token: str
    timeout: float
    retries: int
    backoff: float
    outbox_path: Path
    outbox_interval: float
    rasa_url: Optional[str]
    rasa_token: Optional[str]
    # Rasa's REST channel passes whatever metadata the client sends: a declared channel identity
    # from it is trusted only when this is set (tests and local tools that simulate a channel)
    trust_rest_metadata: bool


def load() -> Settings:
    outbox = os.environ.get("ACTIONS_OUTBOX_PATH", "").strip()
    return Settings(
        routing_url=os.environ.get("ROUTING_URL", "http://127.0.0.1:8000").rstrip("/"),
        routing_token=os.environ.get("ROUTING_TOKEN", "dev-intake-token"),
        timeout=_float("ROUTING_TIMEOUT", 5.0),
        retries=max(0, _int("ROUTING_RETRIES", 2)),
        backoff=_float("ROUTING_BACKOFF", 0.5),
        outbox_path=Path(outbox) if outbox else ROOT / "var" / "outbox.db",
        outbox_interval=_float("ACTIONS_OUTBOX_INTERVAL", 10.0),
        rasa_url=(os.environ.get("RASA_URL", "").strip().rstrip("/") or None),
        rasa_token=(os.environ.get("RASA_TOKEN", "").strip() or None),
        trust_rest_metadata=os.environ.get("ACTIONS_TRUST_REST_METADATA", "").strip().lower() in ("1", "true", "yes"),
    )
