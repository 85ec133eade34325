"""The review file: one YAML file a trainer edits between `collect` and `merge`.

Layout (``version: 1``)::

    version: 1
    created: 2026-11-23T10:00:00+08:00
    model: models/model-82b1b10ec0621d7d.tar.gz      # the model that filled `model`
    rows:
    - id: cand-12                   # unique in the file: cand-<candidate id>, ticket-<number>, msg-<id>
      source: {kind: correction, candidates: [12, 13], ticket: 20261120-000015, by: op1, at: ...}
      text: 楼下[星光酒吧](party)天天半夜放音乐     # editable; Rasa inline entity syntax allowed
      model: {intent: public_order, confidence: 0.41}   # the current model's answer (filled by the tool)
      ranking: {public_order: 0.41, noise_pollution: 0.33, ...}   # top types (informative)
      proposed: noise_pollution     # the label proposed (operator's correction, ticket's type …)
      decision: review              # review (undecided) | keep | change:<intent> | drop
      note: ""

`decision` is what the trainer sets: ``keep`` takes `proposed`, ``change:<intent>`` takes that
intent, ``drop`` discards the row, ``review`` (the default) leaves it undecided — `merge` skips
undecided rows and says how many there are. Everything except `text`, `decision` and `note` is
information for the reviewer and is ignored by `merge` (except `id`, used in reports).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

VERSION = 1
UNDECIDED = "review"
HEADER = """\
# Review file of the trainer loop (docs/trainer.md). For every row set `decision`:
#   keep               → merge `text` under `proposed`
#   change:<intent>    → merge `text` under <intent> (a catalogue code or a conversational intent)
#   drop               → discard the row
#   review             → undecided (merge skips it)
# `text` may be edited and annotated with Rasa's inline syntax: [幸福小区](location), [物业](party),
# [昨天晚上](time). `model` is the current model's answer, `ranking` its top types.
"""


class ReviewError(ValueError):
    """The review file is malformed."""


@dataclass
class Row:
    id: str
    text: str
    proposed: str = ""
    decision: str = UNDECIDED
    model: Dict[str, Any] = field(default_factory=dict)
    ranking: List[List[Any]] = field(default_factory=list)
    source: Dict[str, Any] = field(default_factory=dict)
    note: str = ""

    def label(self) -> Optional[str]:
        """The intent this row is to be merged under, None for drop / undecided."""
        decision = (self.decision or UNDECIDED).strip()
        if decision == "keep":
            return self.proposed or None
        if decision.startswith("change:"):
            return decision.split(":", 1)[1].strip() or None
        return None

    def check_decision(self) -> Optional[str]:
        """A problem with the decision field, or None."""
        decision = (self.decision or UNDECIDED).strip()
        if decision in ("keep", "drop", UNDECIDED):
            if decision == "keep" and not self.proposed:
                return "decision 'keep' but no proposed label: use change:<intent>"
            return None
        if decision.startswith("change:") and decision.split(":", 1)[1].strip():
            return None
        return f"unknown decision '{self.decision}' (keep | change:<intent> | drop | review)"


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def write_review(path: Path, rows: Sequence[Row], model: Optional[str] = None,
                 extra: Optional[Dict[str, Any]] = None) -> None:
    data: Dict[str, Any] = {"version": VERSION, "created": now_iso(), "model": model or ""}
    data.update(extra or {})
    data["rows"] = [_row_dict(r) for r in rows]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100000)
    path.write_text(HEADER + body, encoding="utf-8")


def _row_dict(row: Row) -> Dict[str, Any]:
    d = asdict(row)
    # {intent: confidence}, best first: reads better than nested lists
    d["ranking"] = {str(name): conf for name, conf in row.ranking}
    order = ["id", "source", "text", "model", "ranking", "proposed", "decision", "note"]
    return {k: d[k] for k in order}


def read_review(path: Path) -> Tuple[Dict[str, Any], List[Row]]:
    """(header fields, rows) of a review file; raises ReviewError with the row named."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ReviewError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise ReviewError(f"{path}: expected a mapping with a `rows` list")
    rows: List[Row] = []
    seen = set()
    for index, item in enumerate(data["rows"], 1):
        if not isinstance(item, dict) or not str(item.get("text") or "").strip():
            raise ReviewError(f"{path}: row {index} has no text")
        row_id = str(item.get("id") or f"row-{index}")
        if row_id in seen:
            raise ReviewError(f"{path}: row id '{row_id}' appears twice")
        seen.add(row_id)
        rows.append(Row(
            id=row_id, text=str(item["text"]), proposed=str(item.get("proposed") or ""),
            decision=str(item.get("decision") or UNDECIDED), model=dict(item.get("model") or {}),
            ranking=_ranking(item.get("ranking")), source=dict(item.get("source") or {}),
            note=str(item.get("note") or ""),
        ))
    header = {k: v for k, v in data.items() if k != "rows"}
    return header, rows


def _ranking(value: Any) -> List[List[Any]]:
    if isinstance(value, dict):
        return [[name, conf] for name, conf in value.items()]
    return [list(pair) for pair in value or []]


_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


def one_line(text: str) -> str:
    """NLU examples are single lines: line breaks of transcripts become '，'."""
    return _NEWLINES.sub("，", text.strip())
