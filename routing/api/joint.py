"""Joint handling (中心吹哨、部门报到): the assisting departments' tasks of a ticket, and each
department's own task queue. Rules in routing.joint."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import StrictStr, constr
from sqlalchemy import select
from sqlalchemy.orm import Session

from routing import joint
from routing.api.deps import current_actor, get_session, get_settings
from routing.api.schemas import Strict
from routing.errors import Invalid
from routing.models import Department
from routing.service import TicketService
from routing.settings import Settings
from routing.timeutil import utcnow

router = APIRouter(prefix="/api")


class AssistAddIn(Strict):
    department_code: constr(strict=True, min_length=1, max_length=40)  # type: ignore[valid-type]
    note: Optional[StrictStr] = None


class AssistAnswerIn(Strict):
    reply: StrictStr


class AssistWaiveIn(Strict):
    reason: StrictStr


@router.get("/tickets/{number}/assists", summary="协办任务 / the assisting departments' tasks of a ticket")
def ticket_assists(number: str, request: Request, session: Session = Depends(get_session),
                   settings: Settings = Depends(get_settings)) -> List[Dict[str, Any]]:
    actor = current_actor(request, session)
    service = TicketService(session, settings)
    ticket = service.load(number)
    service.check_visible(actor, ticket, allow_assisting=True)
    now = utcnow()
    return [joint.task_view(t, now) for t in ticket.assist_tasks]


@router.post("/tickets/{number}/assists", status_code=201,
             summary="增加协办部门（话务员、受理中心）/ call in an assisting department")
def add_assist(number: str, body: AssistAddIn, request: Request, session: Session = Depends(get_session),
               settings: Settings = Depends(get_settings)) -> JSONResponse:
    actor = current_actor(request, session)
    task = joint.add_task(TicketService(session, settings), actor, number, body.department_code, body.note)
    out = joint.task_view(task)
    session.commit()
    return JSONResponse(status_code=201, content=out)


@router.post("/tickets/{number}/assists/{department_code}/answer", summary="协办答复 / the assisting department's reply")
def answer_assist(number: str, department_code: str, body: AssistAnswerIn, request: Request,
                  session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    task = joint.answer_task(TicketService(session, settings), actor, number, department_code, body.reply)
    out = joint.task_view(task)
    session.commit()
    return out


@router.post("/tickets/{number}/assists/{department_code}/waive",
             summary="免除协办（主办部门、受理中心、话务员）/ waive a task, with a reason")
def waive_assist(number: str, department_code: str, body: AssistWaiveIn, request: Request,
                 session: Session = Depends(get_session), settings: Settings = Depends(get_settings)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    task = joint.waive_task(TicketService(session, settings), actor, number, department_code, body.reason)
    out = joint.task_view(task)
    session.commit()
    return out


@router.get("/assist-tasks", summary="协办任务队列 / assisting tasks: a staff token sees its own department's")
def assist_queue(request: Request, state: Optional[str] = Query("open", description="comma-separated: open, answered, waived"),
                 department: Optional[str] = Query(None, description="department code (operators, supervisors)"),
                 overdue: Optional[bool] = None, limit: int = Query(100, ge=1, le=500),
                 session: Session = Depends(get_session)) -> Dict[str, Any]:
    actor = current_actor(request, session)
    states = [s.strip() for s in (state or "").split(",") if s.strip()]
    bad = [s for s in states if s not in joint.TASK_STATES]
    if bad:
        raise Invalid(f"未知任务状态 / unknown task state: {', '.join(bad)}", "bad_state")
    if actor.can("read_all"):
        dept_id = None
        if department:
            dept = session.execute(select(Department).where(Department.code == department)).scalar_one_or_none()
            if dept is None:
                raise Invalid(f"未知部门 / unknown department: {department}", "unknown_department")
            dept_id = dept.id
    elif actor.can("read_department") and actor.department_id is not None:
        dept_id = actor.department_id  # each department sees its own tasks
    else:
        actor.require("read_all")
        dept_id = None
    now = utcnow()
    items = [joint.task_view(t, now) for t in joint.department_tasks(session, dept_id, states, limit)]
    if overdue is not None:
        items = [i for i in items if i["overdue"] is overdue]
    return {"items": items, "total": len(items)}
