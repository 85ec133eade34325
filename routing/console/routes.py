"""The console's pages: login, queues, ticket page (review, corrections, lifecycle actions,
notes, history), transcript entry, dashboard, training candidates.

Plain HTML forms posting to the server (POST → redirect → GET, a one-shot flash message in a
cookie); every form carries the session's CSRF token. Handlers are synchronous (FastAPI runs
them in its thread pool) so a slow NLU call does not block other requests. What the pages share
(templates, flash, login and CSRF checks, refusals as messages) is in routing.console.web; joint
handling (the 协办部门 section's forms, the 协办任务 queue) in routing.console.assists.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import lifecycle
from routing.api.deps import get_session, get_settings
from routing.catalog import load_catalog
from routing.console import assists
from routing.console import auth as console_auth
from routing.console.dashboard import dashboard as dashboard_data
from routing.console.highlight import by_offsets, by_values
from routing.console.queries import Filters, department_options, list_queue, queues_for, region_options
from routing.console.texts import msg, name
from routing.console.web import (STATIC_DIR, _csrf_ok, _safe_next, current_login, error_page, redirect, render,
                                 ticket_post, to_login)
from routing.errors import Forbidden, NotFound, ServiceError
from routing.models import Department, Ticket
from routing.regions import ancestors
from routing.service import ACTION_PERMISSIONS, CHANNELS
from routing.settings import Settings
from routing.timeutil import utcnow
from routing.triage.candidates import candidate_view, query_candidates, to_csv, to_json
from routing.triage.nlu import NLUClient, NLUError
from routing.triage.parse import TranscriptError, parse_bytes, parse_document
from routing.triage.review import FIELDS, ReviewService, candidates_for
from routing.triage.service import TriageService, triage_record_view
from routing.views import event_view, ticket_colour, ticket_view

__all__ = ["router", "STATIC_DIR"]

# Lifecycle actions offered on the ticket page (confirm/review have their own buttons).
PAGE_ACTIONS = ("dispatch", "accept", "progress", "return", "escalate", "resolve", "close", "reopen", "merge")

router = APIRouter(include_in_schema=False)
router.include_router(assists.router)  # joint handling: the 协办 forms and the task queue


def _set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(console_auth.COOKIE, token, httponly=True, samesite="lax", secure=settings.production,
                        path="/", max_age=int(console_auth.session_hours() * 3600))


# ---------------------------------------------------------------------------------------- login
@router.get("/")
def home(request: Request, session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if login.user.role == "supervisor":
        return redirect("/dashboard")
    return redirect(f"/queues/{queues_for(login.actor)[0]}")


@router.get("/login")
def login_page(request: Request, next: str = "/", session: Session = Depends(get_session)) -> Response:
    import secrets

    login = current_login(request, session)
    if login is not None:
        return redirect(_safe_next(next))
    token = request.cookies.get(console_auth.LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(16)
    response = render(request, "login.html", None, next=_safe_next(next), login_csrf=token, error=None)
    response.set_cookie(console_auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.post("/login")
def login_submit(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/"),
                 csrf: str = Form(""), session: Session = Depends(get_session),
                 settings: Settings = Depends(get_settings)) -> Response:
    expected = request.cookies.get(console_auth.LOGIN_CSRF_COOKIE)
    if not expected or csrf != expected:
        response = render(request, "login.html", None, status=400, next=_safe_next(next), login_csrf=expected or "",
                          error=msg("login_expired"))
        return response
    user = console_auth.authenticate_user(session, username, password)
    if user is None:
        return render(request, "login.html", None, status=401, next=_safe_next(next), login_csrf=expected,
                      error=msg("login_failed"), username=username)
    token = console_auth.start_session(session, user)
    session.commit()
    response = redirect(_safe_next(next))
    _set_session_cookie(response, token, settings)
    response.delete_cookie(console_auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, csrf: str = Form(""), session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is not None and _csrf_ok(login, csrf):
        console_auth.end_session(session, request.cookies.get(console_auth.COOKIE))
        session.commit()
    response = redirect("/login")
    response.delete_cookie(console_auth.COOKIE, path="/")
    return response


# ---------------------------------------------------------------------------------------- queues
@router.get("/queues/{queue}")
def queue_page(queue: str, request: Request, type: Optional[str] = None, region: Optional[str] = None,
               department: Optional[str] = None, channel: Optional[str] = None, q: Optional[str] = None,
               page: int = Query(1, ge=1, le=100000), session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    actor = login.actor
    if queue not in queues_for(actor):
        return error_page(request, login, session, 404, msg("no_queue"))
    filters = Filters(event_type=type or None, region=region or None, department=department or None,
                      channel=channel or None, q=(q or "").strip()[:200] or None)
    result = list_queue(session, actor, queue, filters, page)
    now = utcnow()
    rows = [{"t": t, "colour": ticket_colour(t, now)} for t in result.tickets]
    query = filters.as_query()
    return render(request, "queue.html", login, session=session, queue=queue, result=result, rows=rows,
                  filters=filters, catalog=list(load_catalog()), regions=region_options(session),
                  departments=department_options(session) if actor.can("read_all") else [],
                  channels=CHANNELS, query=urlencode(query), now=now)


@router.get("/search")
def search(request: Request, q: str = "") -> Response:
    return redirect("/queues/all?" + urlencode({"q": q}))


# ---------------------------------------------------------------------------------------- ticket page
def _allowed_actions(actor: Any, ticket: Ticket) -> List[str]:
    out = []
    for action in lifecycle.allowed_actions(ticket.state):
        if action not in PAGE_ACTIONS:
            continue
        if actor.can(ACTION_PERMISSIONS.get(action, action)):
            out.append(action)
    return out


def _dispatch_departments(session: Session, ticket: Ticket) -> Dict[str, List[Department]]:
    everything = department_options(session)
    chain = {r.id for r in ancestors(ticket.region)} if ticket.region is not None else set()
    serving = [d for d in everything if not d.intake_desk and any(r.id in chain for r in d.regions)]
    kinds = set()
    et = load_catalog().get(ticket.event_type) if ticket.event_type else None
    if et is not None:
        kinds = {et.department, *et.assisting}
    serving.sort(key=lambda d: (d.kind not in kinds, {"grid": 0, "village-community": 1, "township": 2,
                                                       "county": 3, "city": 4}.get(d.level, 5), d.code))
    rest = [d for d in everything if d not in serving and not d.intake_desk]
    return {"serving": serving, "rest": rest}


def _text_segments(ticket: Ticket, triage: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    values = [(ticket.location_text or "", "location")] + [(p if isinstance(p, str) else str(p.get("name", "")), "party")
                                                         for p in (ticket.parties or [])]
    out: Dict[str, Any] = {}
    if triage is not None:
        entities = triage.get("entities") or []
        ent_values = values + [(e.get("value") or "", e.get("entity") or "") for e in entities]
        if triage.get("nlu_text"):
            out["nlu"] = by_offsets(triage["nlu_text"], entities)
        out["turns"] = [{"speaker": t.get("speaker"), "role": t.get("role"),
                         "segments": by_values(t.get("text") or "", ent_values)} for t in triage.get("turns") or []]
    else:
        out["original"] = by_values(ticket.original_text or "", values)
    return out


def _event_rows(ticket: Ticket, dept_names: Dict[str, str]) -> List[Dict[str, Any]]:
    rows = []
    for e in ticket.events:
        v = event_view(e)
        v["at_dt"] = e.at
        rows.append(v)
    return rows


@router.get("/tickets/{number}")
def ticket_page(number: str, request: Request, session: Session = Depends(get_session),
                settings: Settings = Depends(get_settings)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    actor = login.actor
    service = ReviewService(session, settings)
    try:
        ticket = service.load(number)
        service.check_visible(actor, ticket, allow_assisting=True)  # an assisting department sees it too
    except NotFound:
        return error_page(request, login, session, 404, msg("ticket_not_found", number=number))
    except Forbidden as exc:
        return error_page(request, login, session, 403, exc.message)
    triage = triage_record_view(ticket.triage)
    dept_names = {d.code: d.name for d in department_options(session)}
    duplicates = list(session.execute(
        select(Ticket).where(Ticket.duplicate_of_id == ticket.id).order_by(Ticket.id)).scalars())
    merged_in = list(session.execute(
        select(Ticket).where(Ticket.merged_into_id == ticket.id).order_by(Ticket.id)).scalars())
    now = utcnow()
    catalog = load_catalog()
    by_domain: Dict[str, List[Any]] = {}
    for et in catalog:
        by_domain.setdefault(et.domain, []).append(et)
    # staff of an assisting department (not the lead) see the ticket and their task, not the lead's work
    lead_side = actor.can("read_all") or ticket.department_id == actor.department_id
    can_review = actor.can("dispatch") and ticket.state in ({lifecycle.AWAITING_REVIEW} | lifecycle.OPEN_STATES)
    suggest_merge = (triage or {}).get("duplicate_of") or (ticket.duplicate_of.number if ticket.duplicate_of else None)
    dispatch_departments = _dispatch_departments(session, ticket) if actor.can("dispatch") else None
    return render(
        request, "ticket.html", login, session=session, ticket=ticket, view=ticket_view(ticket, now=now),
        triage=triage, segments=_text_segments(ticket, triage), events=_event_rows(ticket, dept_names),
        dept_names=dept_names, duplicates=duplicates, merged_in=merged_in, by_domain=by_domain,
        regions=region_options(session), actions=_allowed_actions(actor, ticket) if lead_side else [],
        can_review=can_review, can_note=lead_side and (actor.can("progress") or actor.can("dispatch")),
        lead_side=lead_side, joint=assists.ticket_section(
            service, actor, ticket, now, lambda: dispatch_departments or _dispatch_departments(session, ticket)),
        dispatch_departments=dispatch_departments,
        candidates=[candidate_view(c) for c in candidates_for(session, ticket)], suggest_merge=suggest_merge,
        colour=ticket_colour(ticket, now), levels=("grid", "village-community", "township", "county", "city"),
    )


@router.post("/tickets/{number}/review")
def ticket_review(number: str, request: Request, csrf: str = Form(""), op: str = Form("save"),
                  event_type: str = Form(""), location_text: str = Form(""), region_code: str = Form(""),
                  parties: str = Form(""), note: str = Form(""), department_code: str = Form(""),
                  session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Response:
    service = ReviewService(session, settings)
    corrections = {"event_type": event_type or None, "location_text": location_text or None,
                   "region_code": region_code or None, "parties": parties}

    def work(actor: Any) -> str:
        ticket = service.load(number, for_update=True)
        before = len(ticket.events)
        tasks_before = assists.task_ids(ticket)
        ticket, written = service.correct(actor, number, note=note or None, ticket=ticket, **corrections)
        changed = len(ticket.events) > before
        parts = []
        if written:
            parts.append(msg("candidates_written", count=len(written)))
        if op == "confirm":
            service.confirm(actor, number, note=None)
            return msg("separator").join([msg("confirmed")] + parts)
        if op == "confirm_dispatch":
            ticket = service.confirm(actor, number, dispatch=True, department_code=department_code or None)
            parts += assists.called_in(ticket, tasks_before)
            return msg("separator").join([msg("confirmed_dispatched")] + parts)
        return msg("separator").join([msg("saved")] + parts) if changed else msg("unchanged")

    return ticket_post(request, session, number, csrf, work, msg("saved"))


@router.post("/tickets/{number}/action")
def ticket_action(number: str, request: Request, csrf: str = Form(""), action: str = Form(""),
                  note: str = Form(""), reason: str = Form(""), reply: str = Form(""),
                  department_code: str = Form(""), level: str = Form(""), into: str = Form(""),
                  session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Response:
    service = ReviewService(session, settings)

    def work(actor: Any) -> str:
        if action not in PAGE_ACTIONS and action != "review":
            raise NotFound(msg("unknown_action", action=action), "unknown_action")
        payload = {k: v for k, v in {"note": note, "reason": reason, "reply": reply, "department_code": department_code,
                                     "level": level, "into": into.strip()}.items() if v}
        tasks_before = assists.task_ids(service.load(number)) if action == "dispatch" else set()
        ticket = service.act(actor, number, action, payload)
        parts = [msg("action_done", action=name("actions", action))]
        if action == "dispatch":
            parts += assists.called_in(ticket, tasks_before)
        return msg("separator").join(parts)

    return ticket_post(request, session, number, csrf, work, msg("action_done", action=name("actions", action)))


@router.post("/tickets/{number}/note")
def ticket_note(number: str, request: Request, csrf: str = Form(""), text: str = Form(""),
                session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Response:
    service = ReviewService(session, settings)
    return ticket_post(request, session, number, csrf,
                        lambda actor: service.add_note(actor, number, text) and msg("note_added"), msg("note_added"))


# ---------------------------------------------------------------------------------------- transcript entry
@router.get("/triage/new")
def triage_page(request: Request, session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if not login.actor.can("create"):
        return error_page(request, login, session, 403, msg("cannot_enter"))
    return render(request, "triage.html", login, session=session, text="", error=None)


@router.post("/triage/new")
def triage_submit(request: Request, csrf: str = Form(""), text: str = Form(""), file: Optional[UploadFile] = File(None),
                  session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if not _csrf_ok(login, csrf):
        return error_page(request, login, session, 403, msg("stale_form"))
    actor = login.actor
    if not actor.can("create"):
        return error_page(request, login, session, 403, msg("cannot_enter"))

    def fail(message: str, status: int = 422) -> HTMLResponse:
        session.rollback()
        return render(request, "triage.html", login, status=status, session=session, text=text, error=message)

    try:
        data = file.file.read(settings.max_body_bytes + 1) if file is not None and file.filename else b""
        if data:
            if len(data) > settings.max_body_bytes:
                return fail(msg("file_too_large"), 413)
            parsed = parse_bytes(data, file.filename or "upload", file.filename)
        elif text.strip():
            parsed = parse_document(text, "console", "console.txt")
        else:
            return fail(msg("nothing_pasted"))
    except TranscriptError as exc:
        return fail(exc.message)
    if not parsed.transcripts:
        reasons = msg("separator").join(f"{e.source}：{e.message}" for e in parsed.errors) or msg("no_transcripts")
        return fail(reasons)
    session.rollback()  # no transaction open during the NLU calls
    service = TriageService(session, settings, NLUClient())
    created: List[str] = []
    failures = [f"{e.source}：{e.message}" for e in parsed.errors]
    for transcript in parsed.transcripts:
        try:
            parse = service.ask(transcript)
        except NLUError as exc:
            if created:
                failures.append(f"{transcript.source}：{exc.message}")
                continue
            return fail(exc.message, 503)
        except TranscriptError as exc:
            failures.append(f"{transcript.source}：{exc.message}")
            continue
        try:
            result = service.create_draft(actor, transcript, parse, source=transcript.source)
            session.commit()
        except ServiceError as exc:
            session.rollback()
            failures.append(f"{transcript.source}：{exc.message}")
            continue
        created.append(result.ticket.number)
        session.rollback()
    if not created:
        return fail(msg("separator").join(failures) or msg("no_transcripts"))
    note = msg("drafts_created", count=len(created))
    if failures:
        note += msg("separator") + msg("drafts_failed", count=len(failures), reasons=msg("separator").join(failures))
    if len(created) == 1:
        return redirect(f"/tickets/{created[0]}", note, "error" if failures else "ok")
    return redirect("/queues/awaiting_review", note, "error" if failures else "ok")


# ---------------------------------------------------------------------------------------- dashboard
@router.get("/dashboard")
def dashboard_page(request: Request, days: int = 30, session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if not login.actor.can("stats"):
        return error_page(request, login, session, 403, msg("no_stats"))
    data = dashboard_data(session, login.actor, days)
    return render(request, "dashboard.html", login, session=session, d=data)


# ---------------------------------------------------------------------------------------- training candidates
@router.get("/training")
def training_page(request: Request, field: Optional[str] = None, all: bool = False, page: int = Query(1, ge=1),
                  session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if not login.actor.can("read_all"):
        return error_page(request, login, session, 403, msg("no_training"))
    field = field if field in FIELDS else None
    size = 50
    rows, total = query_candidates(session, field, include_superseded=all, limit=size, offset=(page - 1) * size)
    return render(request, "training.html", login, session=session, rows=[candidate_view(c) for c in rows],
                  total=total, page=page, pages=max(1, (total + size - 1) // size), field=field, all=all,
                  fields=FIELDS, query=urlencode({k: v for k, v in {"field": field, "all": "1" if all else None}.items() if v}))


@router.get("/training/export.{fmt}")
def training_export(fmt: str, request: Request, field: Optional[str] = None, all: bool = False,
                    session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    if not login.actor.can("read_all"):
        return error_page(request, login, session, 403, msg("no_training"))
    if fmt not in ("csv", "json"):
        return error_page(request, login, session, 404, msg("bad_format"))
    rows, _ = query_candidates(session, field if field in FIELDS else None, include_superseded=all)
    stamp = utcnow().strftime("%Y%m%d")
    if fmt == "csv":
        return Response(to_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="training_candidates_{stamp}.csv"'})
    return Response(to_json(rows), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="training_candidates_{stamp}.json"'})
