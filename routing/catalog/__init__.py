"""The event catalogue: `event_types.yml` beside this file is the single source of truth.

NLU data, the Rasa domain, the actions, the routing rules and the console all read event types
through :func:`load_catalog`, so a type exists in exactly one place.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import yaml

CATALOG_PATH = Path(__file__).with_name("event_types.yml")
LEVELS: Tuple[str, ...] = ("grid", "village-community", "township", "county")


class CatalogError(ValueError):
    """The catalogue file is malformed (missing field, unknown level, duplicate code …)."""


@dataclass(frozen=True)
class Deadline:
    """A handling deadline: working days on the Chinese statutory calendar, or clock hours."""

    working_days: Optional[int] = None
    hours: Optional[int] = None

    def __post_init__(self) -> None:
        if (self.working_days is None) == (self.hours is None):
            raise CatalogError("deadline needs exactly one of working_days or hours")


@dataclass(frozen=True)
class EventType:
    code: str
    name: str
    domain: str
    department: str
    level: str
    deadline: Deadline
    urgent: bool
    needs_party: bool = False
    needs_time: bool = False
    emergency: bool = False
    assisting: Tuple[str, ...] = field(default_factory=tuple)
    covers: str = ""


class Catalog:
    """The loaded catalogue, in file order, indexed by code."""

    def __init__(self, types: List[EventType]):
        self._types = types
        self._by_code: Dict[str, EventType] = {}
        for t in types:
            if t.code in self._by_code:
                raise CatalogError(f"duplicate event type code: {t.code}")
            self._by_code[t.code] = t

    def __iter__(self) -> Iterator[EventType]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Optional[EventType]:
        return self._by_code.get(code)

    def __getitem__(self, code: str) -> EventType:
        try:
            return self._by_code[code]
        except KeyError:
            raise KeyError(f"unknown event type: {code}") from None

    @property
    def codes(self) -> List[str]:
        return [t.code for t in self._types]

    @property
    def domains(self) -> List[str]:
        return sorted({t.domain for t in self._types})


_REQUIRED = ("code", "name", "domain", "department", "level", "deadline", "urgent")


def _parse_entry(raw: dict) -> EventType:
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CatalogError(f"event type {raw.get('code', '?')}: missing {', '.join(missing)}")
    code = str(raw["code"])
    if not code.isascii() or not code.replace("_", "").isalnum():
        raise CatalogError(f"event type code must be ASCII letters, digits and _: {code!r}")
    if raw["level"] not in LEVELS:
        raise CatalogError(f"event type {code}: level must be one of {LEVELS}")
    deadline = raw["deadline"] or {}
    return EventType(
        code=code,
        name=str(raw["name"]),
        domain=str(raw["domain"]),
        department=str(raw["department"]),
        level=raw["level"],
        deadline=Deadline(working_days=deadline.get("working_days"), hours=deadline.get("hours")),
        urgent=bool(raw["urgent"]),
        needs_party=bool(raw.get("needs_party", False)),
        needs_time=bool(raw.get("needs_time", False)),
        emergency=bool(raw.get("emergency", False)),
        assisting=tuple(raw.get("assisting") or ()),
        covers=str(raw.get("covers", "")),
    )


def parse_catalog(text: str) -> Catalog:
    data = yaml.safe_load(text) or {}
    entries = data.get("event_types")
    if not isinstance(entries, list) or not entries:
        raise CatalogError("the catalogue needs a non-empty list under event_types")
    return Catalog([_parse_entry(e) for e in entries])


@lru_cache(maxsize=4)
def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    return parse_catalog(Path(path).read_text(encoding="utf-8"))
