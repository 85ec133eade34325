"""The console's texts (texts.yml) and the names of states and event types."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import yaml

from routing.catalog import load_catalog
from routing.joint import TASK_STATE_NAMES
from routing.lifecycle import STATE_NAMES

TEXTS_PATH = Path(__file__).with_name("texts.yml")


@lru_cache(maxsize=1)
def texts() -> Dict[str, Any]:
    data = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8")) or {}
    data["states"] = dict(STATE_NAMES)
    data["assist_states"] = dict(TASK_STATE_NAMES)
    data["types"] = {t.code: t.name for t in load_catalog()}
    return data


def name(group: str, code: Any) -> str:
    if code is None:
        return ""
    return str(texts().get(group, {}).get(code, code))


def msg(key: str, **values: Any) -> str:
    """A console message from texts.yml, placeholders filled in."""
    template = str(texts().get("messages", {}).get(key, key))
    return template.format(**values) if values else template


def label(key: str) -> str:
    """A name on the dashboard (texts.yml: dashboard)."""
    return str(texts().get("dashboard", {}).get(key, key))
