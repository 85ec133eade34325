"""Reporter follow-up, called by the bot's action server (role intake) or an operator.

Every call proves the caller is the reporter: the same channel identity (e.g. telegram:12345), or
the ticket number + the last 4 digits of the reporter's phone. A failed proof answers 404, exactly
like an unknown number, so numbers cannot be probed.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from routing.api.deps import current_actor, get_session, get_settings
from routing.api.schemas import RateIn, ReopenIn, ReporterProof, SupplementIn, UrgeIn
from routing.auth import Actor
from routing.errors import Invalid
from routing.idempotency import request_hash, run_idempotent
from routing.models import Ticket
from routing.reporters import valid_identity
from routing.service import AttachmentInput, TicketService
from routing.settings import Settings
from routing.views import reporter_view

router = APIRouter(prefix="/api/reporter")


def _actor(request: Request, session: Session) -> Actor:
    actor = current_actor(request, session)
    actor.require("reporter")
    return actor


@router.post("/status", summary="查询办理进度（仅限本人）/ status of the reporter's own ticket")
def status(body: ReporterProof, request: Request, session: Session = Depends(get_session),
           settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    _actor(request, session)
    ticket = TicketService(session, settings).for_reporter(body.number, body.channel_identity, body.phone_tail)
    return reporter_view(ticket)


@router.get("/tickets", summary="我的工单 / the reporter's recent tickets by channel identity")
def my_tickets(request: Request, channel_identity: str = Query(..., max_length=200),
               limit: int = Query(10, ge=1, le=50), session: Session = Depends(get_session),
               settings: Settings = Depends(get_settings)) -> List[Dict[str, Any]]:
    _actor(request, session)
    if not valid_identity(channel_identity):
        raise Invalid("渠道身份格式应为 渠道:编号 / channel_identity must look like telegram:12345",
                      "bad_channel_identity")
    tickets = TicketService(session, settings).reporter_tickets(channel_identity, limit)
    return [{k: v for k, v in reporter_view(t).items() if k != "history"} for t in tickets]


def _write(request: Request, session: Session, settings: Settings, body: ReporterProof, name: str,
           key: Optional[str], op: Callable[[TicketService, Actor, Ticket], Ticket]) -> JSONResponse:
    actor = _actor(request, session)
    service = TicketService(session, settings)

    def work() -> "tuple[int, Dict[str, Any]]":
        ticket = service.for_reporter(body.number, body.channel_identity, body.phone_tail, for_update=True)
        return 200, reporter_view(op(service, actor, ticket))

    digest = request_hash("POST", f"/api/reporter/{name}", body.dict())
    status_code, out, replayed = run_idempotent(session, f"{actor.scope}:reporter:{name}:{body.number}", key,
                                                digest, work)
    return JSONResponse(status_code=status_code, content=out,
                        headers={"Idempotent-Replayed": "true"} if replayed else {})


@router.post("/supplement", summary="补充信息或附件 / add information")
def supplement(body: SupplementIn, request: Request,
               idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
               session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> JSONResponse:
    items = [AttachmentInput(**a.dict()) for a in body.attachments]
    return _write(request, session, settings, body, "supplement", idempotency_key,
                  lambda s, a, t: s.supplement(a, t, body.text, items))


@router.post("/urge", summary="催办 / urge")
def urge(body: UrgeIn, request: Request, idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
         session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> JSONResponse:
    return _write(request, session, settings, body, "urge", idempotency_key,
                  lambda s, a, t: s.urge(a, t, body.note))


@router.post("/rate", summary="满意度评价（办结后）/ rate 1–5 after resolution")
def rate(body: RateIn, request: Request, idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
         session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> JSONResponse:
    return _write(request, session, settings, body, "rate", idempotency_key,
                  lambda s, a, t: s.rate(a, t, body.rating, body.comment))


@router.post("/reopen", summary="未解决，重新办理 / not solved: reopen")
def reopen(body: ReopenIn, request: Request, idempotency_key: Optional[str] = Header(None, alias="Idempotency-Key"),
           session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> JSONResponse:
    return _write(request, session, settings, body, "reopen", idempotency_key,
                  lambda s, a, t: s.reporter_reopen(a, t, body.note))
