"""Collect: operators' corrections (training candidates) and uncertain tickets → a review file.

The routing backend's API (routing/triage/api.py) is read with a token of a role that may read
every ticket (operator or supervisor; development: ``dev-supervisor-token``):

  GET /api/training-candidates?format=json[&from=ISO][&field=event_type|location|party]
      → a JSON list of candidates:
        {"id": 12, "created_at": "...", "ticket_number": "20261120-000015",
         "field": "event_type" | "location" | "party",
         "text": "the caller's text the model saw",
         "model_answer": "public_order" | {"text": ..., "region": ...} | ["物业", ...],
         "model_confidence": 0.41, "operator_answer": <same shapes>,
         "actor": "op1", "actor_role": "operator", "superseded_at": null, "extra": {...}}
  GET /api/tickets?limit=&offset=     recent tickets (numbers), newest first
  GET /api/tickets/{number}           one ticket: original_text, event_type, nlu_confidence

Candidates of the same ticket (an event-type correction and a location correction, say) become
ONE review row: the proposed label is the operator's event type (else the ticket's current type),
and corrected locations / parties found verbatim in the text are pre-annotated
``[text](location)`` / ``[text](party)``. With a model, every row gets the model's current
answer and top types; `--uncertain N` adds the N recent tickets (of the last `--recent`) the
model is least sure about, proposed under their current type.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import httpx

from trainer.evaluate import Prediction
from trainer.review import Row, one_line

Predict = Callable[[Sequence[str]], List[Prediction]]


class BackendError(RuntimeError):
    pass


class BackendClient:
    """The few backend endpoints the trainer reads."""

    def __init__(self, url: str, token: Optional[str], timeout: float = 30.0,
                 transport: Optional[httpx.BaseTransport] = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout,
                                 transport=transport)

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        except httpx.HTTPError as exc:
            raise BackendError(f"routing backend {self.http.base_url} unreachable: {exc}") from None
        if response.status_code in (401, 403):
            raise BackendError(f"GET {path}: {response.status_code} — the token must be an operator's or a "
                               f"supervisor's (set TRAINER_ROUTING_TOKEN; development: dev-supervisor-token)")
        if response.status_code >= 400:
            raise BackendError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def training_candidates(self, since: Optional[str] = None, field: Optional[str] = None) -> List[Dict]:
        data = self._get("/api/training-candidates", format="json", **{"from": since, "field": field})
        return list(data["items"] if isinstance(data, dict) else data)

    def recent_tickets(self, count: int) -> List[Dict]:
        out: List[Dict] = []
        while len(out) < count:
            page = self._get("/api/tickets", limit=min(200, count - len(out)), offset=len(out))
            items = page.get("items") or []
            out.extend(items)
            if not items or len(out) >= int(page.get("total") or 0):
                break
        return out[:count]

    def ticket(self, number: str) -> Dict:
        return self._get(f"/api/tickets/{number}")


def _names(answer: Any) -> List[str]:
    if answer is None:
        return []
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, dict):
        return [str(answer.get("text") or answer.get("name") or "")]
    if isinstance(answer, list):
        return [n for item in answer for n in _names(item)]
    return []


def annotate(text: str, surface: str, entity: str) -> str:
    """Marks the first plain (not yet annotated) occurrence of `surface` in `text`."""
    if not surface or len(surface) < 2:
        return text
    for m in re.finditer(re.escape(surface), text):
        before = text[:m.start()]
        if before.count("[") > before.count("]"):  # inside an annotation already
            continue
        return f"{text[:m.start()]}[{surface}]({entity}){text[m.end():]}"
    return text


@dataclass
class Collected:
    rows: List[Row]
    candidates: int
    uncertain: int


def rows_from_candidates(candidates: Iterable[Dict], ticket_type: Callable[[str], Optional[str]]) -> List[Row]:
    groups: "OrderedDict[str, List[Dict]]" = OrderedDict()
    for c in sorted(candidates, key=lambda c: c.get("id") or 0):
        if c.get("superseded_at"):
            continue
        key = c.get("ticket_number") or f"text:{c.get('text')}"
        groups.setdefault(key, []).append(c)
    rows = []
    for key, group in groups.items():
        text = one_line(group[-1].get("text") or "")
        if not text:
            continue
        proposed, model = "", {}
        for c in group:
            if c.get("field") == "event_type":
                proposed = str(c.get("operator_answer") or "")
                model = {"intent": c.get("model_answer"), "confidence": c.get("model_confidence"),
                         "recorded": True}
        for c in group:
            if c.get("field") in ("location", "party"):
                for name in _names(c.get("operator_answer")):
                    text = annotate(text, name, c["field"])
        number = group[-1].get("ticket_number")
        if not proposed and number:
            proposed = ticket_type(number) or ""
        rows.append(Row(
            id=f"cand-{group[0].get('id')}", text=text, proposed=proposed, model=model,
            source={"kind": "correction", "candidates": [c.get("id") for c in group], "ticket": number,
                    "fields": [c.get("field") for c in group],
                    "by": sorted({str(c.get("actor")) for c in group}), "at": group[-1].get("created_at")},
        ))
    return rows


def fill_model_answers(rows: List[Row], predict: Predict, top: int = 3) -> None:
    from trainer.nlu_files import plain_text

    predictions = predict([plain_text(r.text) for r in rows])
    for row, p in zip(rows, predictions):
        row.model = {"intent": p.intent, "confidence": round(p.confidence, 3)}
        row.ranking = [[name, round(conf, 3)] for name, conf in p.ranking[:top]]


def collect(client: BackendClient, predict: Optional[Predict] = None, since: Optional[str] = None,
            uncertain: int = 0, recent: int = 200) -> Collected:
    ticket_cache: Dict[str, Dict] = {}

    def ticket(number: str) -> Dict:
        if number not in ticket_cache:
            ticket_cache[number] = client.ticket(number)
        return ticket_cache[number]

    rows = rows_from_candidates(client.training_candidates(since=since),
                                lambda number: ticket(number).get("event_type"))
    n_candidates = len(rows)
    if predict is not None and rows:
        fill_model_answers(rows, predict)
    extra: List[Row] = []
    if uncertain > 0:
        seen = {r.source.get("ticket") for r in rows}
        pool = []
        for summary in client.recent_tickets(recent):
            number = summary.get("number")
            if not number or number in seen:
                continue
            t = ticket(number)
            text = one_line(t.get("original_text") or "")
            if text:
                pool.append(Row(id=f"ticket-{number}", text=text, proposed=t.get("event_type") or "",
                                model={"intent": t.get("event_type"), "confidence": t.get("nlu_confidence"),
                                       "recorded": True},
                                source={"kind": "uncertain", "ticket": number, "at": t.get("created_at")}))
        if predict is not None and pool:
            fill_model_answers(pool, predict)
        pool.sort(key=lambda r: (r.model.get("confidence") is None, r.model.get("confidence") or 0.0))
        extra = pool[:uncertain]
    return Collected(rows + extra, n_candidates, len(extra))
