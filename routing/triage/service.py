"""One transcript → NLU prediction → a ticket draft in state `awaiting_review`.

The NLU is asked before any database work (no transaction is held open over an HTTP call; SQLite
takes its write lock at BEGIN). The caller owns the transaction: :meth:`TriageService.create_draft`
flushes, the API route or the batch import commits.

What goes on the draft:
  event type   the model's top intent when it is a catalogue code with confidence at least
               TRIAGE_LOW_CONFIDENCE (0.5); otherwise none (the draft goes to the intake desk) and
               the suggestion stays in the triage record, flagged low confidence — never silently
               filed under a wrong type
  location     the `location` entities in text order; the region from them, or from the model's
               `location_resolution` (district adcode) when the names are not in the region tree
  parties      the `party` entities
  reporter     the phone from the transcript's metadata, else a `phone` entity
Duplicates: the open ticket the draft seems to repeat (same type, same place, recent — the
routing.dedup rule) is reported now and linked when the operator confirms the draft.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional

from sqlalchemy.orm import Session

from routing import lifecycle
from routing.auth import Actor
from routing.catalog import Catalog, load_catalog
from routing.dedup import find_primary
from routing.models import Ticket, TriageRecord
from routing.regions import get_region, normalise_location, resolve_region
from routing.service import NewTicket, ReporterInput, TicketService
from routing.settings import Settings
from routing.timeutil import utcnow
from routing.triage.nlu import FALLBACK_INTENTS, NLUClient, ParseResult, low_confidence_threshold
from routing.triage.parse import Transcript, TranscriptError, normalised_caller_text

MAX_ALTERNATIVES = 3


@dataclass
class Prediction:
    intent: Optional[str]
    event_type: Optional[str]  # what the draft gets
    suggested_type: Optional[str]  # the model's best catalogue type, even when unsure
    confidence: Optional[float]
    low_confidence: bool
    alternatives: List[Dict[str, Any]]
    location_text: Optional[str]
    region_code: Optional[str]  # the region the location resolves to (display; may be None)
    adcode_region: Optional[str]  # the model's district, when it is in the region tree
    parties: List[str]
    phone: Optional[str]
    ticket_numbers: List[str]
    duplicate_of: Optional[str] = None

    def as_dict(self, catalog: Optional[Catalog] = None) -> Dict[str, Any]:
        catalog = catalog or load_catalog()
        et = catalog.get(self.suggested_type) if self.suggested_type else None
        return {
            "intent": self.intent, "event_type": self.event_type, "suggested_type": self.suggested_type,
            "suggested_type_name": et.name if et else None, "confidence": self.confidence,
            "low_confidence": self.low_confidence, "alternatives": self.alternatives,
            "location_text": self.location_text, "region_code": self.region_code, "parties": self.parties,
            "phone": self.phone, "ticket_numbers": self.ticket_numbers, "duplicate_of": self.duplicate_of,
        }


@dataclass
class TriageResult:
    transcript: Transcript
    parse: ParseResult
    prediction: Prediction
    ticket: Optional[Ticket] = None
    record: Optional[TriageRecord] = None
    warnings: List[str] = field(default_factory=list)


def _join_locations(values: List[str]) -> Optional[str]:
    out: List[str] = []
    for v in values:
        v = v.strip()
        if not v or any(v in o for o in out):
            continue
        out = [o for o in out if o not in v]
        out.append(v)
    return " ".join(out) or None


def predict(session: Session, parse: ParseResult, catalog: Catalog, threshold: float,
            meta_phone: Optional[str] = None) -> Prediction:
    ranked = [(n, c) for n, c in parse.ranking if n in catalog]
    intent = parse.intent
    if intent in catalog:
        suggested, confidence = intent, parse.confidence
    elif ranked:
        suggested, confidence = ranked[0]
    else:
        suggested, confidence = None, (parse.confidence if intent else None)
    classified = intent in catalog and intent not in FALLBACK_INTENTS
    low = not classified or confidence is None or confidence < threshold
    alternatives = []
    for name, conf in ranked:
        if name == suggested:
            continue
        alternatives.append({"code": name, "name": catalog[name].name, "confidence": round(conf, 4)})
        if len(alternatives) >= MAX_ALTERNATIVES:
            break
    location_text = _join_locations([e.value for e in parse.entities_of("location")])
    adcode_region = None
    resolution = parse.location_resolution or {}
    adcode = str(resolution.get("adcode") or "")
    for code in (adcode[:6], adcode[:4] + "00") if adcode else ():
        if get_region(session, code) is not None:
            adcode_region = code
            break
    region = resolve_region(session, None, location_text) if location_text else None
    if region is None and adcode_region:
        region = get_region(session, adcode_region)
    parties: List[str] = []
    for e in parse.entities_of("party"):
        if e.value.strip() and e.value.strip() not in parties:
            parties.append(e.value.strip())
    phones = [e.value for e in parse.entities_of("phone")]
    numbers = [e.value for e in parse.entities_of("ticket_number")]
    return Prediction(
        intent=intent, event_type=suggested if not low else None, suggested_type=suggested,
        confidence=round(confidence, 4) if confidence is not None else None, low_confidence=low,
        alternatives=alternatives, location_text=location_text, region_code=region.code if region else None,
        adcode_region=adcode_region, parties=parties[:20], phone=meta_phone or (phones[0] if phones else None),
        ticket_numbers=numbers,
    )


class TriageService:
    """Drafts from transcripts. `nlu` defaults to the rasa server at RASA_URL."""

    def __init__(self, session: Session, settings: Settings, nlu: Optional[NLUClient] = None,
                 catalog: Optional[Catalog] = None, threshold: Optional[float] = None):
        self.session = session
        self.settings = settings
        self.nlu = nlu or NLUClient()
        self.catalog = catalog or load_catalog()
        self.threshold = low_confidence_threshold() if threshold is None else threshold

    def nlu_input(self, transcript: Transcript) -> str:
        text = transcript.caller_text
        if not text.strip():
            raise TranscriptError("no_caller_text", "没有来电人的有效内容 / nothing said by the caller")
        return text[: self.settings.max_text_chars]

    def ask(self, transcript: Transcript) -> ParseResult:
        """The NLU call: before any database work."""
        return self.nlu.parse(self.nlu_input(transcript))

    def predict(self, transcript: Transcript, parse: ParseResult, now: Optional[datetime] = None) -> Prediction:
        now = now or utcnow()
        prediction = predict(self.session, parse, self.catalog, self.threshold, transcript.meta.get("phone"))
        if prediction.suggested_type:
            region = resolve_region(self.session, prediction.region_code, prediction.location_text)
            primary = find_primary(
                self.session, prediction.suggested_type, region, normalise_location(prediction.location_text),
                None, None, now, self.settings.dedup_window_hours, self.settings.dedup_radius_m,
            )
            prediction.duplicate_of = primary.number if primary is not None else None
        return prediction

    def create_draft(self, actor: Actor, transcript: Transcript, parse: ParseResult, source: Optional[str] = None,
                     channel: str = "hotline", reporter_name: Optional[str] = None,
                     now: Optional[datetime] = None) -> TriageResult:
        now = now or utcnow()
        actor.require("create")
        prediction = self.predict(transcript, parse, now)
        caller_text = self.nlu_input(transcript)
        warnings = list(transcript.warnings)
        if len(transcript.caller_text) > len(caller_text):
            warnings.append(f"来电内容超过 {self.settings.max_text_chars} 字，已截断 / caller text truncated")
        location_text = prediction.location_text
        region_code = None
        if location_text and resolve_region(self.session, None, location_text) is None:
            region_code = prediction.adcode_region
        elif not location_text:
            region_code = prediction.adcode_region
        phone = prediction.phone
        name = reporter_name or transcript.meta.get("name")
        reporter = ReporterInput(name=name, phone=phone) if (phone or name) else None
        normalised = (parse.text or normalised_caller_text(transcript))[: self.settings.max_text_chars]
        tickets = TicketService(self.session, self.settings, self.catalog)
        ticket = tickets.create(actor, NewTicket(
            text=caller_text, channel=channel, normalised_text=normalised or None,
            event_type=prediction.event_type, nlu_confidence=prediction.confidence,
            location_text=location_text, region_code=region_code, parties=list(prediction.parties),
            reporter=reporter, initial_state=lifecycle.AWAITING_REVIEW,
        ), now=now)
        record = TriageRecord(
            ticket=ticket, source=(source or transcript.source or "")[:300] or None,
            transcript=transcript.raw[:100_000], turns=[t.as_dict() for t in transcript.turns],
            caller_text=caller_text, nlu_text=parse.text, nlu={**parse.as_dict(), "warnings": warnings,
                                                                 "meta": transcript.meta},
            predicted_type=prediction.suggested_type, confidence=prediction.confidence,
            predicted_location=prediction.location_text, predicted_region=prediction.region_code,
            predicted_parties=list(prediction.parties), low_confidence=prediction.low_confidence,
            duplicate_number=prediction.duplicate_of, created_by=actor.name, created_at=now,
        )
        self.session.add(record)
        tickets._event(ticket, actor, "triaged", now, ticket.state, ticket.state,
                       note="热线录音转写分析 / triaged from a hotline transcript", data={
                           "source": record.source, "predicted_type": prediction.suggested_type,
                           "confidence": prediction.confidence, "low_confidence": prediction.low_confidence,
                           "duplicate_of": prediction.duplicate_of})
        self.session.flush()
        return TriageResult(transcript, parse, prediction, ticket, record, warnings)


def triage_record_view(record: Optional[TriageRecord], catalog: Optional[Catalog] = None) -> Optional[Dict[str, Any]]:
    if record is None:
        return None
    catalog = catalog or load_catalog()
    et = catalog.get(record.predicted_type) if record.predicted_type else None
    nlu = record.nlu or {}
    ranked = [r for r in nlu.get("intent_ranking") or [] if r.get("name") in catalog]
    alternatives = [{"code": r["name"], "name": catalog[r["name"]].name, "confidence": r.get("confidence")}
                    for r in ranked if r["name"] != record.predicted_type][:MAX_ALTERNATIVES]
    return {
        "source": record.source, "turns": record.turns or [], "caller_text": record.caller_text,
        "nlu_text": record.nlu_text, "entities": nlu.get("entities") or [],
        "intent": nlu.get("intent"), "predicted_type": record.predicted_type,
        "predicted_type_name": et.name if et else None, "confidence": record.confidence,
        "alternatives": alternatives, "low_confidence": bool(record.low_confidence),
        "predicted_location": record.predicted_location, "predicted_region": record.predicted_region,
        "predicted_parties": record.predicted_parties or [], "duplicate_of": record.duplicate_number,
        "location_resolution": nlu.get("location_resolution"), "warnings": nlu.get("warnings") or [],
        "meta": nlu.get("meta") or {}, "created_by": record.created_by,
    }
