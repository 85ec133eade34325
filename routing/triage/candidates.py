"""Training candidates for the trainers: list, JSON and CSV export.

One row per correction: `text` is what the model saw (the caller's turns of a transcript, or the
ticket text), `model_answer` and `operator_answer` are an event type code, a location
{"text", "region"} or a list of parties. By default only active candidates are listed (not
superseded by a later correction of the same field of the same ticket).

CSV columns: id, created_at, ticket_number, field, text, model_answer, model_confidence,
operator_answer, actor, actor_role, superseded_at, source. Answers that are not plain text
(locations, party lists) are written as JSON in their cell; UTF-8 with a BOM, so that a
spreadsheet opens the Chinese text correctly.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.models import TrainingCandidate
from routing.timeutil import iso_local

CSV_COLUMNS = ("id", "created_at", "ticket_number", "field", "text", "model_answer", "model_confidence",
               "operator_answer", "actor", "actor_role", "superseded_at", "source")


def candidate_view(c: TrainingCandidate) -> Dict[str, Any]:
    return {
        "id": c.id, "created_at": iso_local(c.created_at), "ticket_number": c.ticket_number, "field": c.field,
        "text": c.text, "model_answer": c.model_answer, "model_confidence": c.model_confidence,
        "operator_answer": c.operator_answer, "actor": c.actor, "actor_role": c.actor_role,
        "superseded_at": iso_local(c.superseded_at), "extra": c.extra or {},
    }


def query_candidates(session: Session, field: Optional[str] = None, since: Optional[datetime] = None,
                     until: Optional[datetime] = None, include_superseded: bool = False,
                     limit: Optional[int] = None, offset: int = 0) -> "tuple[List[TrainingCandidate], int]":
    conds: List[Any] = []
    if field:
        conds.append(TrainingCandidate.field == field)
    if since is not None:
        conds.append(TrainingCandidate.created_at >= since)
    if until is not None:
        conds.append(TrainingCandidate.created_at < until)
    if not include_superseded:
        conds.append(TrainingCandidate.superseded_at.is_(None))
    total = session.execute(select(func.count()).select_from(TrainingCandidate).where(*conds)).scalar_one()
    stmt = select(TrainingCandidate).where(*conds).order_by(TrainingCandidate.id.desc()).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).scalars()), total


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.4f}"
    return json.dumps(value, ensure_ascii=False)


def to_csv(rows: Iterable[TrainingCandidate], bom: bool = True) -> str:
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for c in rows:
        view = candidate_view(c)
        view["source"] = (c.extra or {}).get("source")
        writer.writerow([_cell(view.get(col)) for col in CSV_COLUMNS])
    return out.getvalue()


def to_json(rows: Iterable[TrainingCandidate]) -> str:
    return json.dumps([candidate_view(c) for c in rows], ensure_ascii=False, indent=1)
