"""Tickets: create (with Idempotency-Key), read, list with filters, history, lifecycle actions,
attachment upload."""
from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Body, Depends, File, Header, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from routing.api.deps import current_actor, get_session, get_settings
from routing.api.schemas import ActionIn, TicketCreate
from routing.errors import Invalid, NotFound, TooLarge
from routing.idempotency import request_hash, run_idempotent
from routing.lifecycle import OPEN_STATES, STATES
from routing.models import Department, Reporter, Ticket
from routing.regions import get_region, subtree_ids
from routing.service import AttachmentInput, NewTicket, ReporterInput, TicketService
from routing.settings import Settings
from routing.timeutil import utcnow
from routing.views import attachment_view, event_view, ticket_summary, ticket_view

router = APIRouter(prefix="/api/tickets")
ACTIONS = ("dispatch", "accept", "progress", "return", "escalate", "resolve", "close", "merge", "reopen")
_SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def _new_ticket(body: TicketCreate) -> NewTicket:
    rep = body.reporter
    return NewTicket(
        text=body.text, channel=body.channel, normalised_text=body.normalised_text, event_type=body.event_type,
        nlu_confidence=body.nlu_confidence, location_text=body.location_text, incident_time=body.incident_time,
        region_code=body.region_code,
        latitude=body.latitude, longitude=body.longitude, parties=list(body.parties), urgent=body.urgent,
        reporter=ReporterInput(**rep.dict()) if rep is not None else None,
        attachments=[AttachmentInput(**a.dict()) for a in body.attachments],
        needs_operator=body.needs_operator,
    )


@router.post("", status_code=201, summary="新建工单 / create a ticket (Idempotency-Key supported)")
def create_ticket(
    request: Request,
    body: TicketCreate,
    idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    actor = current_actor(request, session)
    actor.require("create")
    service = TicketService(session, settings)

    def work() -> "tuple[int, Dict[str, Any]]":
        ticket = service.create(actor, _new_ticket(body))
        return 201, ticket_view(ticket)

    digest = request_hash("POST", "/api/tickets", body.dict())
    status, payload, replayed = run_idempotent(session, actor.scope + ":create", idempotency_key, digest, work)
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return JSONResponse(status_code=status, content=payload, headers=headers)


@router.get("", summary="工单列表 / list tickets with filters")
def list_tickets(
    request: Request,
    state: Optional[str] = Query(None, description="comma-separated states"),
    event_type: Optional[str] = Query(None, alias="type"),
    region: Optional[str] = Query(None, description="region code: the whole subtree"),
    department: Optional[str] = Query(None, description="department code"),
    channel: Optional[str] = None,
    overdue: Optional[bool] = None,
    needs_operator: Optional[bool] = None,
    q: Optional[str] = Query(None, max_length=200, description="ticket number, phone digits or text"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0),
    session: Session = Depends(get_session),
) -> Dict[str, Any]:
    actor = current_actor(request, session)
    if not (actor.can("read_all") or actor.can("read_department")):
        actor.require("read_all")
    conds: List[Any] = []
    if not actor.can("read_all"):
        conds.append(Ticket.department_id == actor.department_id)
    if state:
        states = [s.strip() for s in state.split(",") if s.strip()]
        bad = [s for s in states if s not in STATES]
        if bad:
            raise Invalid(f"未知状态 / unknown state: {', '.join(bad)}", "bad_state")
        conds.append(Ticket.state.in_(states))
    if event_type:
        conds.append(Ticket.event_type == event_type)
    if region:
        r = get_region(session, region)
        if r is None:
            raise Invalid(f"未知区划 / unknown region: {region}", "unknown_region")
        conds.append(Ticket.region_id.in_(subtree_ids(session, r)))
    if department:
        dept = session.execute(select(Department).where(Department.code == department)).scalar_one_or_none()
        if dept is None:
            raise Invalid(f"未知部门 / unknown department: {department}", "unknown_department")
        conds.append(Ticket.department_id == dept.id)
    if channel:
        conds.append(Ticket.channel == channel)
    now = utcnow()
    if overdue is True:
        conds.append(Ticket.state.in_(sorted(OPEN_STATES)))
        conds.append(Ticket.deadline_at < now)
    elif overdue is False:
        conds.append(or_(Ticket.state.notin_(sorted(OPEN_STATES)), Ticket.deadline_at >= now))
    if needs_operator is not None:
        conds.append(Ticket.needs_operator.is_(needs_operator))
    stmt = select(Ticket).outerjoin(Reporter, Ticket.reporter_id == Reporter.id)
    if q and q.strip():
        term = q.strip()
        options = [Ticket.number.startswith(term, autoescape=True),
                   Ticket.original_text.contains(term, autoescape=True),
                   Ticket.location_text.contains(term, autoescape=True)]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 4 and digits == term.lstrip("+"):
            options.append(Reporter.phone.contains(digits, autoescape=True))
        conds.append(or_(*options))
    total = session.execute(
        select(func.count()).select_from(Ticket).outerjoin(Reporter, Ticket.reporter_id == Reporter.id).where(*conds)
    ).scalar_one()
    rows = session.execute(
        stmt.where(*conds).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset)
        .options(selectinload(Ticket.region), selectinload(Ticket.department), selectinload(Ticket.duplicate_of))
    ).scalars()
    return {"items": [ticket_summary(t, now) for t in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/{number}", summary="工单详情 / one ticket")
def get_ticket(number: str, request: Request, session: Session = Depends(get_session),
               settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    service = TicketService(session, settings)
    ticket = service.load(number)
    service.check_visible(actor, ticket, allow_assisting=True)
    return ticket_view(ticket)


@router.get("/{number}/events", summary="办理记录 / the ticket's history")
def ticket_events(number: str, request: Request, session: Session = Depends(get_session),
                  settings: Settings = Depends(get_settings)) -> List[Dict[str, Any]]:
    actor = current_actor(request, session)
    service = TicketService(session, settings)
    ticket = service.load(number)
    service.check_visible(actor, ticket, allow_assisting=True)
    return [event_view(e) for e in ticket.events]


@router.post("/{number}/attachments", status_code=201, summary="上传附件 / upload an attachment")
def upload_attachment(number: str, request: Request, file: UploadFile = File(...),
                      session: Session = Depends(get_session),
                      settings: Settings = Depends(get_settings)) -> JSONResponse:
    actor = current_actor(request, session)
    actor.require("attach")
    service = TicketService(session, settings)
    ticket = service.load(number, for_update=True)
    service.check_visible(actor, ticket)
    data = file.file.read(settings.max_attachment_bytes + 1)
    if len(data) > settings.max_attachment_bytes:
        raise TooLarge(f"附件超过 {settings.max_attachment_bytes} 字节 / attachment too large", "attachment_too_large")
    if not data:
        raise Invalid("附件为空 / empty file", "empty_file")
    safe = _SAFE_NAME.sub("_", Path(file.filename or "upload").name)[:100] or "upload"
    folder = Path(settings.attachment_dir) / number
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}_{safe}"
    target.write_bytes(data)
    try:
        att = service.add_attachment(actor, ticket, AttachmentInput(
            filename=file.filename or safe, content_type=file.content_type or "application/octet-stream",
            size=len(data), stored_path=str(target)))
        session.commit()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return JSONResponse(status_code=201, content=attachment_view(att))


@router.post("/{number}/{action}", summary="办理操作 / lifecycle action: " + ", ".join(ACTIONS))
def ticket_action(
    number: str,
    action: str,
    request: Request,
    body: Optional[ActionIn] = Body(None),
    idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    if action not in ACTIONS:
        raise NotFound(f"未知操作 / unknown action: {action} (one of {', '.join(ACTIONS)})", "unknown_action")
    actor = current_actor(request, session)
    payload = body.dict(exclude_none=True) if body is not None else {}

    def work() -> "tuple[int, Dict[str, Any]]":
        service = TicketService(session, settings)
        ticket = service.act(actor, number, action, payload)
        return 200, ticket_view(ticket)

    digest = request_hash("POST", f"/api/tickets/{number}/{action}", payload)
    status, out, replayed = run_idempotent(session, f"{actor.scope}:{number}:{action}", idempotency_key, digest, work)
    return JSONResponse(status_code=status, content=out, headers={"Idempotent-Replayed": "true"} if replayed else {})
