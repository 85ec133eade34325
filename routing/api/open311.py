"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2), JSON format.

* GET  /open311/v2/services.json            service list (service_code = event type code)
* POST /open311/v2/requests.json            form-encoded; needs api_key of role intake/operator
* GET  /open311/v2/requests.json            public; service_request_id, service_code, start_date,
                                            end_date, status (open/closed) filters
* GET  /open311/v2/requests/{id}.json       public; a one-element list
Errors are [{"code": status, "description": text}]. Public output never contains the reporter's
identity (name, phone, e-mail, channel identity); phone numbers inside descriptions are masked.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing.auth import authenticate
from routing.catalog import load_catalog
from routing.errors import BadRequest, Forbidden, NotFound, ServiceError
from routing.lifecycle import DONE_STATES, MERGED
from routing.models import Ticket
from routing.api.deps import get_session, get_settings
from routing.service import AttachmentInput, NewTicket, ReporterInput, TicketService
from routing.settings import Settings
from routing.timeutil import iso_local, parse_iso, utcnow
from routing.views import mask_phones

router = APIRouter(prefix="/open311/v2", tags=["open311"])
MAX_RESULTS = 1000
DEFAULT_WINDOW_DAYS = 90


def _status(ticket: Ticket) -> str:
    return "closed" if ticket.state in DONE_STATES or ticket.state == MERGED else "open"


def _status_notes(ticket: Ticket) -> Optional[str]:
    if ticket.state == MERGED and ticket.merged_into is not None:
        return f"已合并至 {ticket.merged_into.number} / merged into {ticket.merged_into.number}"
    return ticket.resolution


def request_view(ticket: Ticket) -> Dict[str, Any]:
    et = load_catalog().get(ticket.event_type) if ticket.event_type else None
    media = next((a.url for a in ticket.attachments if a.url), None)
    return {
        "service_request_id": ticket.number,
        "status": _status(ticket),
        "status_notes": _status_notes(ticket),
        "service_name": et.name if et else None,
        "service_code": ticket.event_type,
        "description": mask_phones(ticket.original_text),
        "agency_responsible": ticket.department.name if ticket.department is not None else None,
        "service_notice": _notice(ticket),
        "requested_datetime": iso_local(ticket.created_at),
        "updated_datetime": iso_local(ticket.updated_at),
        "expected_datetime": iso_local(ticket.deadline_at),
        "address": ticket.location_text,
        "address_id": None,
        "zipcode": None,
        "lat": ticket.latitude,
        "long": ticket.longitude,
        "media_url": media,
    }


def _notice(ticket: Ticket) -> str:
    deadline = iso_local(ticket.deadline_at) or "-"
    return f"工单号 {ticket.number}，预计办结时间 {deadline} / expected by {deadline}"




@router.get("/services.json", summary="Open311 service list")
def services() -> List[Dict[str, Any]]:
    return [
        {"service_code": t.code, "service_name": t.name, "description": t.covers or t.name,
         "metadata": False, "type": "realtime", "keywords": ",".join(filter(None, t.covers.split("、"))),
         "group": t.domain}
        for t in load_catalog()
    ]


def _float(value: Optional[str], name: str, low: float, high: float) -> Optional[float]:
    if value is None or value.strip() == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"{name} 应为数字 / {name} must be a number") from None
    if not low <= number <= high:
        raise BadRequest(f"{name} 超出范围 / {name} out of range")
    return number


@router.post("/requests.json", summary="Open311 create a service request (form-encoded)")
def create_request(
    api_key: Optional[str] = Form(None),
    service_code: Optional[str] = Form(None),
    description: Optional[str] = Form(None),
    lat: Optional[str] = Form(None),
    long: Optional[str] = Form(None),
    address_string: Optional[str] = Form(None),
    address_id: Optional[str] = Form(None),
    email: Optional[str] = Form(None),
    device_id: Optional[str] = Form(None),
    account_id: Optional[str] = Form(None),
    first_name: Optional[str] = Form(None),
    last_name: Optional[str] = Form(None),
    phone: Optional[str] = Form(None),
    media_url: Optional[str] = Form(None),
    jurisdiction_id: Optional[str] = Form(None),
    session: Session = Depends(get_session),
    settings: Settings = Depends(get_settings),
) -> JSONResponse:
    try:
        actor = authenticate(session, api_key)
    except ServiceError:
        raise Forbidden("api_key 无效 / invalid api_key") from None
    if actor.role not in ("intake", "operator"):
        raise Forbidden("该 api_key 无权提交 / this api_key may not submit requests")
    if not service_code:
        raise BadRequest("缺少 service_code / service_code is required")
    if service_code not in load_catalog():
        raise NotFound(f"未知 service_code / unknown service_code: {service_code}")
    latitude = _float(lat, "lat", -90, 90)
    longitude = _float(long, "long", -180, 180)
    if (latitude is None) != (longitude is None):
        raise BadRequest("lat 与 long 需同时提供 / lat and long go together")
    if latitude is None and not (address_string or "").strip() and not (address_id or "").strip():
        raise BadRequest("需要 lat/long、address_string 或 address_id / a location is required")
    if not (description or "").strip():
        raise BadRequest("缺少 description / description is required")
    name = " ".join(p for p in ((last_name or "").strip(), (first_name or "").strip()) if p) or None
    reporter = ReporterInput(name=name, phone=phone, email=email,
                             channel_identity=f"open311:{device_id}" if device_id else None)
    attachments = [AttachmentInput(filename=media_url.rsplit("/", 1)[-1][:255] or "media", content_type="application/octet-stream",
                                   size=0, url=media_url[:2000])] if media_url else []
    service = TicketService(session, settings)
    try:
        ticket = service.create(actor, NewTicket(
            text=description or "", channel="open311", event_type=service_code,
            location_text=address_string or address_id, latitude=latitude, longitude=longitude,
            reporter=reporter, attachments=attachments,
        ))
    except ServiceError as exc:
        raise BadRequest(exc.message) from None
    session.commit()
    return JSONResponse(status_code=201, content=[{
        "service_request_id": ticket.number, "service_notice": _notice(ticket), "account_id": None}])


def _load_options() -> List[Any]:
    return [selectinload(Ticket.department), selectinload(Ticket.attachments), selectinload(Ticket.merged_into)]


@router.get("/requests.json", summary="Open311 service requests (public)")
def list_requests(
    service_request_id: Optional[str] = Query(None, description="comma-separated ids"),
    service_code: Optional[str] = Query(None, description="comma-separated codes"),
    start_date: Optional[str] = None,
    end_date: Optional[str] = None,
    status: Optional[str] = Query(None, description="open, closed or both comma-separated"),
    jurisdiction_id: Optional[str] = None,
    session: Session = Depends(get_session),
) -> List[Dict[str, Any]]:
    stmt = select(Ticket).options(*_load_options())
    if service_request_id:
        ids = [i.strip() for i in service_request_id.split(",") if i.strip()]
        stmt = stmt.where(Ticket.number.in_(ids))
    else:
        try:
            start = parse_iso(start_date) if start_date else None
            end = parse_iso(end_date) if end_date else None
        except ValueError:
            raise BadRequest("start_date/end_date 应为 ISO 8601 / dates must be ISO 8601 (w3c)") from None
        if start is None and end is None:
            start = utcnow() - timedelta(days=DEFAULT_WINDOW_DAYS)
        if start is not None:
            stmt = stmt.where(Ticket.created_at >= start)
        if end is not None:
            stmt = stmt.where(Ticket.created_at <= end)
        if service_code:
            stmt = stmt.where(Ticket.event_type.in_([c.strip() for c in service_code.split(",") if c.strip()]))
        if status:
            wanted = {s.strip() for s in status.split(",") if s.strip()}
            if not wanted <= {"open", "closed"}:
                raise BadRequest("status 应为 open 或 closed / status must be open or closed")
            closed_states = sorted(DONE_STATES | {MERGED})
            if wanted == {"open"}:
                stmt = stmt.where(Ticket.state.notin_(closed_states))
            elif wanted == {"closed"}:
                stmt = stmt.where(Ticket.state.in_(closed_states))
    rows = session.execute(stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(MAX_RESULTS)).scalars()
    return [request_view(t) for t in rows]


@router.get("/requests/{request_id}.json", summary="Open311 one service request (public)")
def get_request(request_id: str, jurisdiction_id: Optional[str] = None,
                session: Session = Depends(get_session)) -> List[Dict[str, Any]]:
    ticket = session.execute(
        select(Ticket).where(Ticket.number == request_id).options(*_load_options())
    ).scalar_one_or_none()
    if ticket is None:
        raise NotFound(f"没有该服务请求 / no service request {request_id}")
    return [request_view(ticket)]
