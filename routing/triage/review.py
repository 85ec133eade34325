"""Operator review: correct a ticket's event type, location or parties; confirm a draft (and
dispatch it in the same step); add notes.

Every correction writes a `corrected` event (from → to per field) and, for each corrected field,
a training candidate: the text the model saw, the model's answer, the operator's answer, who and
when. The model's answer is the triage prediction when the ticket came from a transcript, else
the value the ticket was created with (the bot's NLU). A later correction of the same field
supersedes the earlier candidate; a correction back to the model's answer leaves no active
candidate (the model was right after all).

Before dispatch (awaiting_review, received, returned) a correction re-routes the ticket (department,
level, deadline from the time of receipt); after dispatch it only changes the fields — moving
work between departments is `return` + `dispatch`.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

from sqlalchemy import select, update

from routing import lifecycle
from routing.auth import Actor
from routing.errors import Conflict, Invalid
from routing.models import Ticket, TrainingCandidate, TriageRecord
from routing.regions import get_region, normalise_location, resolve_region
from routing.routing_rules import route
from routing.service import TicketService
from routing.timeutil import utcnow

FIELDS = ("event_type", "location", "party")
FIELD_NAMES = {"event_type": "事件类型", "location": "地点", "party": "当事方"}
UNSET: Any = object()
CORRECTABLE_STATES = frozenset({lifecycle.AWAITING_REVIEW, *lifecycle.OPEN_STATES})
REROUTE_STATES = frozenset({lifecycle.AWAITING_REVIEW, lifecycle.RECEIVED, lifecycle.RETURNED})
MAX_PARTIES = 20
MAX_PARTY_CHARS = 200


def clean_parties(parties: Any) -> List[str]:
    if parties is None:
        return []
    if isinstance(parties, str):
        parties = parties.replace("；", "\n").replace(";", "\n").splitlines()
    if not isinstance(parties, (list, tuple)):
        raise Invalid("当事方应为列表 / parties must be a list", "bad_parties")
    out: List[str] = []
    for p in parties:
        if isinstance(p, dict):
            p = p.get("name") or p.get("value") or ""
        if not isinstance(p, str):
            raise Invalid("当事方应为文字 / a party must be text", "bad_parties")
        p = p.strip()
        if not p:
            continue
        if len(p) > MAX_PARTY_CHARS:
            raise Invalid(f"当事方过长（上限 {MAX_PARTY_CHARS} 字）/ party too long", "bad_parties")
        if p not in out:
            out.append(p)
    if len(out) > MAX_PARTIES:
        raise Invalid(f"当事方最多 {MAX_PARTIES} 个 / at most {MAX_PARTIES} parties", "bad_parties")
    return out


def _party_names(parties: Any) -> List[str]:
    try:
        return clean_parties(parties)
    except Invalid:
        return [str(p) for p in parties or []]


def _same(field: str, a: Any, b: Any) -> bool:
    if field == "party":
        return sorted(_party_names(a)) == sorted(_party_names(b))
    if field == "location":
        a_text = (a or {}).get("text") if isinstance(a, dict) else a
        b_text = (b or {}).get("text") if isinstance(b, dict) else b
        a_reg = (a or {}).get("region") if isinstance(a, dict) else None
        b_reg = (b or {}).get("region") if isinstance(b, dict) else None
        return normalise_location(a_text) == normalise_location(b_text) and (a_reg or None) == (b_reg or None)
    return (a or None) == (b or None)


class ReviewService(TicketService):
    # ------------------------------------------------------------------ corrections
    def correct(self, actor: Actor, number: str, event_type: Any = UNSET, location_text: Any = UNSET,
                region_code: Any = UNSET, parties: Any = UNSET, note: Optional[str] = None,
                now: Optional[datetime] = None, ticket: Optional[Ticket] = None) -> Tuple[Ticket, List[TrainingCandidate]]:
        """Change what was given; returns the ticket and the training candidates written."""
        now = now or utcnow()
        actor.require("dispatch")
        t = ticket or self.load(number, for_update=True)
        self.check_visible(actor, t)
        if t.state not in CORRECTABLE_STATES:
            raise Conflict(
                f"工单当前状态为“{lifecycle.STATE_NAMES.get(t.state, t.state)}”，不能更正 / "
                f"cannot correct a ticket in state {t.state}", "not_correctable")
        note = self._check_text(note, "说明 note", required=False)
        changes: Dict[str, Dict[str, Any]] = {}

        if event_type is not UNSET:
            new_type = (event_type or "").strip() or None if isinstance(event_type, (str, type(None))) else UNSET
            if new_type is UNSET:
                raise Invalid("事件类型应为文字 / event_type must be text", "bad_event_type")
            if new_type is not None and new_type not in self.catalog:
                raise Invalid(f"未知事件类型 / unknown event type: {new_type}", "unknown_event_type")
            if new_type != t.event_type:
                changes["event_type"] = {"from": t.event_type, "to": new_type}

        if location_text is not UNSET or region_code is not UNSET:
            text = t.location_text if location_text is UNSET else self._check_text(location_text, "地址", required=False)
            code = None if region_code is UNSET else ((region_code or "").strip() or None)
            if code is not None and get_region(self.session, code) is None:
                raise Invalid(f"未知区划代码 / unknown region code: {code}", "unknown_region")
            region = resolve_region(self.session, code, text)  # no code: resolved from the text
            old = {"text": t.location_text, "region": t.region.code if t.region is not None else None}
            new = {"text": text, "region": region.code if region is not None else None}
            if old != new:
                changes["location"] = {"from": old, "to": new, "_region": region}

        if parties is not UNSET:
            new_parties = clean_parties(parties)
            if sorted(new_parties) != sorted(_party_names(t.parties)):
                changes["party"] = {"from": list(t.parties or []), "to": new_parties}

        if not changes:
            return t, []
        record: Optional[TriageRecord] = t.triage
        model = self._model_answers(t, record)
        if "event_type" in changes:
            t.event_type = changes["event_type"]["to"]
            t.type_guessed = False
        if "location" in changes:
            loc = changes["location"]
            region = loc.pop("_region")
            t.location_text = loc["to"]["text"]
            t.location_key = normalise_location(t.location_text)
            t.region = region
        if "party" in changes:
            t.parties = changes["party"]["to"]
        rerouted: Dict[str, Any] = {}
        if t.state in REROUTE_STATES and ({"event_type", "location"} & set(changes)):
            et = self.catalog.get(t.event_type) if t.event_type else None
            if t.state == lifecycle.AWAITING_REVIEW:
                t.urgent = bool(et is not None and et.urgent)
            else:
                t.urgent = bool(t.urgent or (et is not None and et.urgent))
            if t.duplicate_of_id is None:
                decision = route(self.session, t.event_type, t.region, self.catalog)
                rerouted = {"from_department": t.department.code if t.department is not None else None,
                            "department": decision.department.code, "level": decision.level,
                            "rule": decision.rule_key, "reason": decision.reason}
                t.department = decision.department
                t.level = decision.level
                t.needs_operator = decision.needs_operator
            if "event_type" in changes:
                t.deadline_at = self._deadline_for(t.event_type, bool(t.urgent), t.created_at)
                rerouted["deadline_at"] = t.deadline_at.isoformat()
        t.updated_at = now
        self._event(t, actor, "corrected", now, t.state, t.state, note=note, data={
            "changes": {k: {"from": v["from"], "to": v["to"]} for k, v in changes.items()},
            **({"rerouted": rerouted} if rerouted else {}),
        })
        self.session.flush()
        written = []
        for field_name, change in changes.items():
            cand = self._candidate(actor, t, record, field_name, model.get(field_name, change["from"]),
                                   change["to"], now)
            if cand is not None:
                written.append(cand)
        self.session.flush()
        return t, written

    def _model_answers(self, t: Ticket, record: Optional[TriageRecord]) -> Dict[str, Any]:
        """The model's answer per field: the triage prediction, else the first recorded one."""
        if record is not None:
            return {
                "event_type": record.predicted_type,
                "location": {"text": record.predicted_location, "region": record.predicted_region},
                "party": list(record.predicted_parties or []),
            }
        out: Dict[str, Any] = {}
        earliest = self.session.execute(
            select(TrainingCandidate).where(TrainingCandidate.ticket_id == t.id).order_by(TrainingCandidate.id)
        ).scalars()
        for cand in earliest:
            out.setdefault(cand.field, cand.model_answer)
        return out

    def _candidate(self, actor: Actor, t: Ticket, record: Optional[TriageRecord], field_name: str,
                   model_answer: Any, operator_answer: Any, now: datetime) -> Optional[TrainingCandidate]:
        self.session.execute(
            update(TrainingCandidate)
            .where(TrainingCandidate.ticket_id == t.id, TrainingCandidate.field == field_name,
                   TrainingCandidate.superseded_at.is_(None))
            .values(superseded_at=now)
            .execution_options(synchronize_session=False)
        )
        if _same(field_name, model_answer, operator_answer):
            return None
        extra: Dict[str, Any] = {"channel": t.channel}
        if record is not None:
            extra["source"] = record.source
            if field_name == "event_type":
                ranking = (record.nlu or {}).get("intent_ranking") or []
                extra["intent_ranking"] = ranking[:5]
            if field_name in ("location", "party"):
                extra["entities"] = [e for e in (record.nlu or {}).get("entities") or []
                                     if e.get("entity") == field_name]
                extra["nlu_text"] = record.nlu_text
        confidence = None
        if field_name == "event_type":
            confidence = record.confidence if record is not None else t.nlu_confidence
        cand = TrainingCandidate(
            ticket_id=t.id, ticket_number=t.number, field=field_name,
            text=record.caller_text if record is not None else t.original_text,
            model_answer=model_answer, model_confidence=confidence, operator_answer=operator_answer,
            extra=extra, actor=actor.name, actor_role=actor.role, created_at=now,
        )
        self.session.add(cand)
        return cand

    # ------------------------------------------------------------------ confirm / notes
    def confirm(self, actor: Actor, number: str, dispatch: bool = False, department_code: Optional[str] = None,
                level: Optional[str] = None, note: Optional[str] = None,
                corrections: Optional[Dict[str, Any]] = None, now: Optional[datetime] = None) -> Ticket:
        """awaiting_review → received (duplicates linked now), then optionally → dispatched."""
        now = now or utcnow()
        if corrections:
            self.correct(actor, number, now=now, **corrections)
        ticket = self.act(actor, number, "confirm", {"note": note} if note else {}, now=now)
        if dispatch:
            payload: Dict[str, Any] = {}
            if department_code:
                payload["department_code"] = department_code
            if level:
                payload["level"] = level
            ticket = self.act(actor, number, "dispatch", payload, now=now)
        return ticket

    def add_note(self, actor: Actor, number: str, text: Optional[str], now: Optional[datetime] = None) -> Ticket:
        now = now or utcnow()
        if not (actor.can("progress") or actor.can("dispatch")):
            actor.require("progress")
        t = self.load(number, for_update=True)
        self.check_visible(actor, t)
        body = self._check_text(text, "备注 note")
        t.updated_at = now
        self._event(t, actor, "note", now, t.state, t.state, note=body)
        self.session.flush()
        return t


def candidates_for(session: Any, ticket: Ticket) -> Sequence[TrainingCandidate]:
    return list(session.execute(
        select(TrainingCandidate).where(TrainingCandidate.ticket_id == ticket.id).order_by(TrainingCandidate.id)
    ).scalars())
