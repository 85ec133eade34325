"""The console's texts (texts.yml) and the names of states and event types."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import yaml

from routing.catalog import load_catalog
from routing.lifecycle import STATE_NAMES

TEXTS_PATH = Path(__file__).with_name("texts.yml")


@lru_cache(maxsize=1)
def texts() -> Dict[str, Any]:
    data = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8")) or {}
    data["states"] = dict(STATE_NAMES)
    data["types"] = {t.code: t.name for t in load_catalog()}
    return data


def name(group: str, code: Any) -> str:
    if code is None:
        return ""
    return str(texts().get(group, {}).get(code, code))
