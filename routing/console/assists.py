"""Joint handling (中心吹哨、部门报到) in the console: the 协办部门 section of the ticket page, its
forms (add an assisting department, answer a task, waive a task) and the 协办任务 queue.

Every change goes through routing.joint (add_task, answer_task, waive_task): its rules decide and
its refusals come back to the ticket page as a message (routing.console.web.error_text). What
this module decides itself is only which forms to show; the service has the last word.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Set
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import joint, lifecycle
from routing.api.deps import get_session, get_settings
from routing.auth import Actor
from routing.console.queries import department_options, list_assists
from routing.console.texts import msg, name
from routing.console.web import current_login, error_page, render, ticket_post, to_login
from routing.models import AssistTask, Department, Ticket
from routing.service import TicketService
from routing.settings import Settings
from routing.timeutil import utcnow

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------------------------------- ticket page
def _may_add(service: TicketService, actor: Actor, ticket: Ticket) -> bool:
    """Operators, and the intake desk for the tickets it covers (routing.joint.add_task)."""
    if ticket.state not in lifecycle.OPEN_STATES:
        return False
    return joint.is_operator(actor) or (joint.is_intake_desk(service, actor)
                                         and joint.desk_covers(service, actor, ticket))


def _may_answer(actor: Actor, task: AssistTask) -> bool:
    return task.state == joint.TASK_OPEN and joint.may_answer(actor, task)


def _may_waive(service: TicketService, actor: Actor, ticket: Ticket, task: AssistTask) -> bool:
    return task.state == joint.TASK_OPEN and joint.may_waive(service, actor, ticket)


def ticket_section(service: TicketService, actor: Actor, ticket: Ticket, now: datetime,
                   choices: Callable[[], Dict[str, List[Department]]]) -> Dict[str, Any]:
    """The 协办部门 section: each task with its colour and whether it is overdue, the forms this
    user may use, and the departments to choose from (serving the ticket's region first; the lead
    and the departments already assisting shown but not selectable)."""
    tasks = list(ticket.assist_tasks or [])
    rows = [{"task": t, "colour": joint.task_colour(t, now), "overdue": joint.is_task_overdue(t, now),
             "can_answer": _may_answer(actor, t), "can_waive": _may_waive(service, actor, ticket, t)}
            for t in tasks]
    can_add = _may_add(service, actor, ticket)
    taken: Set[int] = {t.department_id for t in tasks}
    if ticket.department_id is not None:
        taken.add(ticket.department_id)
    return {"rows": rows, "open": len(joint.open_tasks(ticket)), "can_add": can_add,
            "choices": choices() if can_add else None, "taken": taken}


def task_ids(ticket: Ticket) -> Set[int]:
    return {t.id for t in ticket.assist_tasks or []}


def called_in(ticket: Ticket, before: Set[int]) -> List[str]:
    """For the flash after a dispatch: the departments the catalogue called in just now."""
    added = [t.department.name for t in ticket.assist_tasks or [] if t.id not in before]
    return [msg("assist_called", departments=msg("separator_list").join(added))] if added else []


def _facts(session: Session, number: str, department_code: str) -> Dict[str, Any]:
    """Placeholders of the refusal messages (texts.yml errors)."""
    dept = session.execute(select(Department).where(Department.code == department_code)).scalar_one_or_none()
    ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one_or_none()
    task = None
    if dept is not None and ticket is not None:
        task = session.execute(select(AssistTask).where(AssistTask.ticket_id == ticket.id,
                                                        AssistTask.department_id == dept.id)).scalar_one_or_none()
    return {"department": dept.name if dept is not None else department_code,
            "state": name("states", ticket.state) if ticket is not None else None,
            "task_state": name("assist_states", task.state) if task is not None else None}


@router.post("/tickets/{number}/assists")
def add_assist(number: str, request: Request, csrf: str = Form(""), department_code: str = Form(""),
               note: str = Form(""), session: Session = Depends(get_session),
               settings: Settings = Depends(get_settings)) -> Response:
    def work(actor: Actor) -> str:
        task = joint.add_task(TicketService(session, settings), actor, number, department_code.strip(), note or None)
        return msg("assist_added", department=task.department.name)

    return ticket_post(request, session, number, csrf, work, msg("saved"), context="add",
                       values=lambda: _facts(session, number, department_code.strip()))


# verb → (routing.joint function, message key, the form field it takes)
_TASK_VERBS = {"answer": (joint.answer_task, "assist_answered", "reply"),
               "waive": (joint.waive_task, "assist_waived", "reason")}


@router.post("/tickets/{number}/assists/{department_code}/{verb}")
def work_assist(number: str, department_code: str, verb: str, request: Request, csrf: str = Form(""),
                reply: str = Form(""), reason: str = Form(""), session: Session = Depends(get_session),
                settings: Settings = Depends(get_settings)) -> Response:
    """答复 (reply) or 免除 (reason) an assisting task."""
    if verb not in _TASK_VERBS:
        return error_page(request, current_login(request, session), session, 404, msg("unknown_action", action=verb))
    act, done, field = _TASK_VERBS[verb]
    text = {"reply": reply, "reason": reason}[field]

    def work(actor: Actor) -> str:
        task = act(TicketService(session, settings), actor, number, department_code, text)
        return msg(done, department=task.department.name)

    return ticket_post(request, session, number, csrf, work, msg("saved"), context=verb,
                       values=lambda: _facts(session, number, department_code))


# ---------------------------------------------------------------------------------------- the queue
@router.get("/assists")
def assist_queue(request: Request, state: Optional[str] = joint.TASK_OPEN, department: Optional[str] = None,
                 overdue: bool = False, page: int = Query(1, ge=1, le=100000),
                 session: Session = Depends(get_session)) -> Response:
    login = current_login(request, session)
    if login is None:
        return to_login(request)
    actor = login.actor
    state = state if state in joint.TASK_STATES else ("all" if state == "all" else joint.TASK_OPEN)
    states = joint.TASK_STATES if state == "all" else (state,)
    department = ((department or "").strip() or None) if actor.can("read_all") else None
    now = utcnow()
    result = list_assists(session, actor, tuple(states), department, overdue, page, now)
    query = {k: v for k, v in {"state": state, "department": department, "overdue": "1" if overdue else None}.items()
             if v}
    return render(request, "assists.html", login, session=session, result=result, state=state,
                  states=joint.TASK_STATES, department=department, overdue=overdue, query=urlencode(query),
                  departments=[d for d in department_options(session) if not d.intake_desk]
                  if actor.can("read_all") else [], now=now)
