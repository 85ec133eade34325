"""Grid staff (网格员): lookup by channel identity, patrol reports, 小事格内解决 and the to-do
list (我的待办). Rules in routing.grid."""
from __future__ import annotations

from typing import Any, Dict, Optional, Union

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StrictBool, StrictStr, confloat, conlist, constr
from sqlalchemy.orm import Session

from routing import grid
from routing.api.deps import current_actor, get_session, get_settings
from routing.api.schemas import AttachmentIn, Strict
from routing.errors import Invalid
from routing.idempotency import request_hash, run_idempotent
from routing.lifecycle import STATES
from routing.service import CHANNELS, AttachmentInput, NewTicket, TicketService
from routing.settings import Settings
from routing.timeutil import utcnow
from routing.views import staff_todo_row, ticket_view

router = APIRouter(prefix="/api/staff")


class StaffReportIn(Strict):
    text: StrictStr
    event_type: Optional[StrictStr] = None
    channel: Optional[StrictStr] = None  # default: the channel of the identity
    normalised_text: Optional[StrictStr] = None
    nlu_confidence: Optional[confloat(ge=0, le=1)] = None  # type: ignore[valid-type]
    location_text: Optional[StrictStr] = None
    incident_time: Optional[StrictStr] = None
    region_code: Optional[constr(strict=True, max_length=32)] = None  # type: ignore[valid-type]
    latitude: Optional[confloat(ge=-90, le=90)] = None  # type: ignore[valid-type]
    longitude: Optional[confloat(ge=-180, le=180)] = None  # type: ignore[valid-type]
    parties: conlist(Union[StrictStr, Dict[str, Any]], max_items=20) = []  # type: ignore[valid-type]
    urgent: StrictBool = False
    attachments: conlist(AttachmentIn, max_items=20) = []  # type: ignore[valid-type]
    resolve_on_spot: StrictBool = False
    note: Optional[StrictStr] = None  # the worker's note: required to resolve on the spot


class StaffActionIn(Strict):
    note: Optional[StrictStr] = None
    reply: Optional[StrictStr] = None
    reason: Optional[StrictStr] = None


def _staff(session: Session, request: Request, identity: str, write: bool):  # type: ignore[no-untyped-def]
    actor = current_actor(request, session)
    staff = grid.staff_by_identity(session, identity)
    grid.authorize(actor, grid.grid_departments(session, staff), write)
    return actor, staff


@router.get("/by-identity/{identity}", summary="按渠道身份查网格员 / grid staff by channel identity (404 if none)")
def by_identity(identity: str, request: Request, session: Session = Depends(get_session)) -> Dict[str, Any]:
    _, staff = _staff(session, request, identity, write=False)
    return grid.staff_view(session, staff)


@router.get("/by-identity/{identity}/tickets", summary="我的待办 / tickets of the worker's grid(s)")
def todo(identity: str, request: Request,
         state: Optional[str] = Query(None, description="comma-separated states; default: the open ones"),
         limit: int = Query(50, ge=1, le=200), session: Session = Depends(get_session)) -> Dict[str, Any]:
    _, staff = _staff(session, request, identity, write=False)
    states = [s.strip() for s in (state or "").split(",") if s.strip()]
    bad = [s for s in states if s not in STATES]
    if bad:
        raise Invalid(f"未知状态 / unknown state: {', '.join(bad)}", "bad_state")
    now = utcnow()
    items = [staff_todo_row(t, now) for t in grid.todo(session, staff, states or None, limit)]
    return {"staff": staff.code, "items": items, "total": len(items)}


@router.post("/by-identity/{identity}/reports", status_code=201,
             summary="网格员上报（可格内解决）/ a patrol report; resolve_on_spot closes it in one step")
def staff_report(identity: str, body: StaffReportIn, request: Request,
                 idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
                 session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> JSONResponse:
    actor, staff = _staff(session, request, identity, write=True)
    channel = body.channel or identity.partition(":")[0].lower()
    if channel not in CHANNELS:
        channel = "other"
    data = NewTicket(
        text=body.text, channel=channel, normalised_text=body.normalised_text, event_type=body.event_type,
        nlu_confidence=body.nlu_confidence, location_text=body.location_text, incident_time=body.incident_time,
        region_code=body.region_code,
        latitude=body.latitude, longitude=body.longitude, parties=list(body.parties), urgent=body.urgent,
        attachments=[AttachmentInput(**a.dict()) for a in body.attachments],
    )
    service = TicketService(session, settings)

    def work() -> "tuple[int, Dict[str, Any]]":
        if body.resolve_on_spot:
            ticket = grid.resolve_on_spot(service, actor, staff, data, body.note or "", identity)
        else:
            ticket = grid.report(service, actor, staff, data, identity)
        return 201, ticket_view(ticket)

    digest = request_hash("POST", f"/api/staff/by-identity/{identity}/reports", body.dict())
    status, out, replayed = run_idempotent(session, f"{actor.scope}:staff:{staff.code}:report", idempotency_key,
                                           digest, work)
    return JSONResponse(status_code=status, content=out, headers={"Idempotent-Replayed": "true"} if replayed else {})


@router.post("/by-identity/{identity}/tickets/{number}/{action}",
             summary="网格员办理：accept / progress / resolve / escalate（上报街道）")
def staff_action(identity: str, number: str, action: str, request: Request,
                 body: Optional[StaffActionIn] = Body(None),
                 session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor, staff = _staff(session, request, identity, write=True)
    payload = body.dict(exclude_none=True) if body is not None else {}
    ticket = grid.act(TicketService(session, settings), actor, staff, number, action, payload)
    out = ticket_view(ticket)
    session.commit()
    return out
