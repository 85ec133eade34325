"""JSON API of triage, review and training candidates.

  POST /api/triage                              one transcript → draft (awaiting_review) + prediction
  GET  /api/review/{number}                     the ticket, what the model made of it, its candidates
  POST /api/review/{number}/correct             event_type / location_text / region_code / parties
  POST /api/review/{number}/confirm             awaiting_review → received (→ dispatched with dispatch=true)
  POST /api/review/{number}/return-to-review    received / returned → awaiting_review
  POST /api/review/{number}/notes               a note on the record
  GET  /api/training-candidates                 list; format=json|csv for the trainers
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, StrictBool, StrictStr, conlist, constr
from sqlalchemy.orm import Session

from routing.api.deps import current_actor, get_session, get_settings
from routing.errors import Invalid, ServiceError
from routing.service import CHANNELS
from routing.settings import Settings
from routing.timeutil import parse_iso
from routing.triage.candidates import candidate_view, query_candidates, to_csv, to_json
from routing.triage.nlu import NLUClient, NLUError, NLUUnavailable
from routing.triage.parse import TranscriptError, transcript_from_payload
from routing.triage.review import FIELDS, ReviewService, candidates_for
from routing.triage.service import TriageService, triage_record_view
from routing.views import event_view, ticket_view

router = APIRouter(prefix="/api")


class NLUFailed(ServiceError):
    status, code = 503, "nlu_unavailable"


class NLUBadAnswer(ServiceError):
    status, code = 502, "nlu_error"


def nlu_error(exc: NLUError) -> ServiceError:
    if isinstance(exc, NLUUnavailable):
        return NLUFailed(exc.message, "nlu_unavailable")
    return NLUBadAnswer(exc.message, "nlu_error")


def transcript_error(exc: TranscriptError) -> Invalid:
    return Invalid(exc.message, exc.reason)


class Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


class ReporterBrief(Strict):
    name: Optional[constr(strict=True, max_length=100)] = None  # type: ignore[valid-type]
    phone: Optional[constr(strict=True, max_length=32)] = None  # type: ignore[valid-type]


class TriageIn(Strict):
    transcript: Optional[StrictStr] = None
    text: Optional[StrictStr] = None
    turns: Optional[conlist(Union[Dict[str, Any], List[Any], StrictStr], max_items=2000)] = None  # type: ignore[valid-type]
    source: Optional[constr(strict=True, max_length=300)] = None  # type: ignore[valid-type]
    channel: StrictStr = "hotline"
    reporter: Optional[ReporterBrief] = None
    dry_run: StrictBool = False


class CorrectIn(Strict):
    event_type: Optional[StrictStr] = None
    location_text: Optional[StrictStr] = None
    region_code: Optional[StrictStr] = None
    parties: Optional[conlist(StrictStr, max_items=20)] = None  # type: ignore[valid-type]
    note: Optional[StrictStr] = None


class ConfirmIn(CorrectIn):
    dispatch: StrictBool = False
    department_code: Optional[StrictStr] = None
    level: Optional[constr(strict=True, regex=r"^(grid|village-community|township|county|city)$")] = None  # type: ignore[valid-type]


class NoteIn(Strict):
    text: StrictStr


def corrections_of(body: CorrectIn) -> Dict[str, Any]:
    given = body.dict(exclude_unset=True)
    out = {k: given[k] for k in ("event_type", "location_text", "region_code", "parties") if k in given}
    return out


def triage_result_view(result: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {
        "source": result.transcript.source,
        "turns": [t.as_dict() for t in result.transcript.turns],
        "caller_text": result.transcript.caller_text,
        "prediction": result.prediction.as_dict(),
        "nlu": result.parse.as_dict(),
        "warnings": result.warnings,
        "ticket": ticket_view(result.ticket) if result.ticket is not None else None,
    }
    return out


@router.post("/triage", summary="热线转写分析 / one transcript → a draft awaiting review")
def triage(request: Request, body: TriageIn, session: Session = Depends(get_session),
           settings: Settings = Depends(get_settings)) -> JSONResponse:
    actor = current_actor(request, session)
    actor.require("create")
    if body.channel not in CHANNELS:
        raise Invalid(f"未知渠道 / unknown channel: {body.channel}", "unknown_channel")
    payload: Dict[str, Any] = {}
    for key in ("transcript", "text", "turns"):
        value = getattr(body, key)
        if value is not None:
            payload[key] = value
    if not payload:
        raise Invalid("需要 transcript、text 或 turns 之一 / give transcript, text or turns", "transcript_required")
    source = body.source or "api"
    try:
        transcript = transcript_from_payload(payload, source)
    except TranscriptError as exc:
        raise transcript_error(exc) from None
    service = TriageService(session, settings, NLUClient())
    try:
        parse = service.ask(transcript)
    except TranscriptError as exc:
        raise transcript_error(exc) from None
    except NLUError as exc:
        raise nlu_error(exc) from None
    if body.dry_run:
        prediction = service.predict(transcript, parse)
        session.rollback()
        from routing.triage.service import TriageResult

        return JSONResponse(status_code=200, content=triage_result_view(TriageResult(transcript, parse, prediction)))
    rep = body.reporter
    if rep is not None and rep.phone:
        transcript.meta["phone"] = rep.phone
    result = service.create_draft(actor, transcript, parse, source=source, channel=body.channel,
                                  reporter_name=rep.name if rep is not None else None)
    session.commit()
    return JSONResponse(status_code=201, content=triage_result_view(result))


def review_view(session: Session, service: ReviewService, number: str, actor: Any) -> Dict[str, Any]:
    ticket = service.load(number)
    service.check_visible(actor, ticket)
    return {
        "ticket": ticket_view(ticket),
        "triage": triage_record_view(ticket.triage),
        "candidates": [candidate_view(c) for c in candidates_for(session, ticket)],
        "events": [event_view(e) for e in ticket.events],
    }


@router.get("/review/{number}", summary="审核视图 / ticket + prediction + candidates")
def review(number: str, request: Request, session: Session = Depends(get_session),
           settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    return review_view(session, ReviewService(session, settings), number, actor)


@router.post("/review/{number}/correct", summary="更正事件类型、地点、当事方 / correct (→ training candidates)")
def correct(number: str, body: CorrectIn, request: Request, session: Session = Depends(get_session),
            settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    service = ReviewService(session, settings)
    changes = corrections_of(body)
    if not changes:
        raise Invalid("没有要更正的字段 / nothing to correct", "nothing_to_correct")
    service.correct(actor, number, note=body.note, **changes)
    session.commit()
    return review_view(session, service, number, actor)


@router.post("/review/{number}/confirm", summary="审核确认（可同时派单）/ confirm a draft (and dispatch)")
def confirm(number: str, request: Request, body: Optional[ConfirmIn] = None,
            session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    body = body or ConfirmIn()
    service = ReviewService(session, settings)
    service.confirm(actor, number, dispatch=body.dispatch, department_code=body.department_code, level=body.level,
                    note=body.note, corrections=corrections_of(body) or None)
    session.commit()
    return review_view(session, service, number, actor)


@router.post("/review/{number}/return-to-review", summary="转人工审核 / back to the review queue")
def return_to_review(number: str, request: Request, body: Optional[NoteIn] = None,
                     session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    service = ReviewService(session, settings)
    service.act(actor, number, "review", {"note": body.text} if body is not None else {})
    session.commit()
    return review_view(session, service, number, actor)


@router.post("/review/{number}/notes", status_code=201, summary="备注 / add a note")
def add_note(number: str, body: NoteIn, request: Request, session: Session = Depends(get_session),
             settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    service = ReviewService(session, settings)
    service.add_note(actor, number, body.text)
    session.commit()
    return review_view(session, service, number, actor)


@router.get("/training-candidates", summary="训练候选 / operators' corrections for the trainers (json, csv)")
def training_candidates(
    request: Request,
    field: Optional[str] = Query(None, description="event_type | location | party"),
    from_: Optional[str] = Query(None, alias="from"),
    to: Optional[str] = None,
    all: bool = Query(False, description="include superseded candidates"),
    format: str = Query("json", description="json | csv (a file download) | page (a paged JSON list)"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> Response:
    actor = current_actor(request, session)
    actor.require("read_all")
    if field is not None and field not in FIELDS:
        raise Invalid(f"field 应为 {', '.join(FIELDS)} / unknown field", "bad_field")
    try:
        since = parse_iso(from_) if from_ else None
        until = parse_iso(to) if to else None
    except ValueError:
        raise Invalid("from / to 应为 ISO 8601 时间 / from and to must be ISO 8601", "bad_datetime") from None
    if format == "page":
        rows, total = query_candidates(session, field, since, until, all, limit, offset)
        return JSONResponse({"items": [candidate_view(c) for c in rows], "total": total, "limit": limit,
                             "offset": offset})
    if format not in ("json", "csv"):
        raise Invalid("format 应为 json、csv 或 page / format must be json, csv or page", "bad_format")
    rows, _ = query_candidates(session, field, since, until, all)
    if format == "csv":
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="training_candidates.csv"'})
    return Response(to_json(rows), media_type="application/json",
                    headers={"Content-Disposition": 'inline; filename="training_candidates.json"'})
