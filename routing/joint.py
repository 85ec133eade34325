"""Joint handling (中心吹哨、部门报到): one lead department, zero or more assisting departments.

The ticket's own department is the lead. Each assisting department has an `AssistTask` with its
own deadline (the ticket type's SLA, counted from when the task was created, routing.sla), state
(open → answered | waived) and reply.

* Default tasks: when a ticket is dispatched, every `assisting` kind of its catalogue entry is
  resolved to the most local active department of that kind serving the ticket's region
  (routing.routing_rules.department_of_kind, the same rule that routes the lead).
* Operators and the intake desk (staff of a 受理中心) add a department by hand.
* The assisting department (or an operator) answers its task with a reply; the lead department,
  the intake desk or an operator waives a task with a reason.
* The lead may not resolve while a task is open: 409 `assist_tasks_open`.
* An open task past its deadline, or one answered after it, is overdue: it counts against the
  assisting department in the statistics and the three-colour warnings (routing.stats, /api/warnings).

Every change writes a ticket_events row (assist_added / assist_answered / assist_waived).
Functions flush but never commit, like routing.service.
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing import lifecycle
from routing.auth import Actor
from routing.catalog import Catalog
from routing.errors import Conflict, Forbidden, Invalid, NotFound
from routing.models import AssistTask, Department, Ticket
from routing.regions import ancestors
from routing.routing_rules import department_of_kind
from routing.sla import colour
from routing.timeutil import as_utc, iso_local, utcnow

if TYPE_CHECKING:  # pragma: no cover
    from routing.service import TicketService

TASK_OPEN, TASK_ANSWERED, TASK_WAIVED = "open", "answered", "waived"
TASK_STATES = (TASK_OPEN, TASK_ANSWERED, TASK_WAIVED)
TASK_STATE_NAMES: Dict[str, str] = {TASK_OPEN: "待协办", TASK_ANSWERED: "已答复", TASK_WAIVED: "已免除"}
SOURCE_CATALOGUE, SOURCE_MANUAL = "catalogue", "manual"


# ---------------------------------------------------------------------- rules (pure)
def default_assisting(session: Session, catalog: Catalog, ticket: Ticket,
                      lead: Optional[Department]) -> List[Department]:
    """The departments the catalogue calls in for this ticket: each `assisting` kind resolved to
    the most local active department of that kind serving the ticket's region (the lead's home
    region when the ticket has none). The lead itself and repeats are left out."""
    et = catalog.get(ticket.event_type) if ticket.event_type else None
    if et is None or not et.assisting:
        return []
    region = ticket.region if ticket.region is not None else (lead.region if lead is not None else None)
    chain = ancestors(region)
    out: List[Department] = []
    for kind in et.assisting:
        dept = department_of_kind(session, kind, chain)
        if dept is None or (lead is not None and dept.id == lead.id) or dept in out:
            continue
        out.append(dept)
    return out


def is_task_overdue(task: AssistTask, now: Optional[datetime] = None) -> bool:
    """Open past the deadline, or answered after it. A waived task is never overdue."""
    if task.deadline_at is None or task.state == TASK_WAIVED:
        return False
    now = now or utcnow()
    if task.state == TASK_OPEN:
        return as_utc(now) > as_utc(task.deadline_at)
    return task.answered_at is not None and as_utc(task.answered_at) > as_utc(task.deadline_at)


def task_colour(task: AssistTask, now: Optional[datetime] = None) -> Optional[str]:
    """green / yellow / red while the task is open (the ticket's three-colour rule); else None."""
    return colour(now or utcnow(), task.created_at, task.deadline_at, task.state == TASK_OPEN,
                  bool(task.working_days))


def open_tasks(ticket: Ticket) -> List[AssistTask]:
    return [t for t in (ticket.assist_tasks or []) if t.state == TASK_OPEN]


def check_resolvable(ticket: Ticket) -> None:
    """The lead's resolve is refused while an assisting task is neither answered nor waived."""
    pending = open_tasks(ticket)
    if pending:
        names = "、".join(t.department.name for t in pending)
        codes = [t.department.code for t in pending]
        raise Conflict(
            f"协办部门尚未答复：{names}；请待其答复或免除后再办结 / "
            f"cannot resolve: assisting task(s) still open for {', '.join(codes)} "
            f"(answer or waive them first)",
            "assist_tasks_open", {"open_assist_tasks": codes},
        )


def task_view(task: AssistTask, now: Optional[datetime] = None) -> Dict[str, Any]:
    now = now or utcnow()
    d = task.department
    return {
        "id": task.id,
        "ticket": task.ticket.number if task.ticket is not None else None,
        "department": {"code": d.code, "name": d.name, "kind": d.kind, "level": d.level} if d else None,
        "state": task.state,
        "state_name": TASK_STATE_NAMES.get(task.state, task.state),
        "source": task.source,
        "note": task.note,
        "deadline_at": iso_local(task.deadline_at),
        "warning": task_colour(task, now),
        "overdue": is_task_overdue(task, now),
        "reply": task.reply,
        "waive_reason": task.waive_reason,
        "created_by": task.created_by,
        "created_at": iso_local(task.created_at),
        "answered_at": iso_local(task.answered_at),
        "waived_at": iso_local(task.waived_at),
    }


# ---------------------------------------------------------------------- changes
def _new_task(svc: "TicketService", actor: Actor, ticket: Ticket, dept: Department, source: str,
              note: Optional[str], now: datetime) -> AssistTask:
    et = svc.catalog.get(ticket.event_type) if ticket.event_type else None
    task = AssistTask(
        ticket=ticket, department=dept, state=TASK_OPEN, source=source, note=note,
        deadline_at=svc._deadline_for(ticket.event_type, bool(ticket.urgent), now),
        working_days=not (et is not None and et.deadline.hours is not None),
        created_by=actor.name, created_at=now, updated_at=now,
    )
    svc.session.add(task)
    svc._event(ticket, actor, "assist_added", now, ticket.state, ticket.state, note=note, data={
        "department": dept.code, "source": source, "deadline_at": iso_local(task.deadline_at)})
    return task


def add_default_tasks(svc: "TicketService", actor: Actor, ticket: Ticket, now: datetime) -> List[AssistTask]:
    """On dispatch: a task for every catalogue-assisting department the ticket has none for."""
    have = {t.department_id for t in (ticket.assist_tasks or [])}
    added = []
    for dept in default_assisting(svc.session, svc.catalog, ticket, ticket.department):
        if dept.id in have:
            continue
        added.append(_new_task(svc, actor, ticket, dept, SOURCE_CATALOGUE, None, now))
    return added


def _find(ticket: Ticket, department_code: str) -> AssistTask:
    for task in ticket.assist_tasks or []:
        if task.department.code == department_code:
            return task
    raise NotFound(f"该工单没有 {department_code} 的协办任务 / no assisting task for {department_code}",
                   "assist_task_not_found")


def _actor_department(svc: "TicketService", actor: Actor) -> Optional[Department]:
    return svc.session.get(Department, actor.department_id) if actor.department_id else None


def is_operator(actor: Actor) -> bool:
    return actor.can("read_all") and actor.can("dispatch")


def is_intake_desk(svc: "TicketService", actor: Actor) -> bool:
    dept = _actor_department(svc, actor)
    return actor.role == "staff" and dept is not None and bool(dept.intake_desk)


def desk_covers(svc: "TicketService", actor: Actor, ticket: Ticket) -> bool:
    """An intake desk works the tickets it holds and those of the regions it serves."""
    desk = _actor_department(svc, actor)
    if desk is None:
        return False
    if ticket.department_id == desk.id:
        return True
    served = {r.id for r in desk.regions}
    return any(r.id in served for r in ancestors(ticket.region))


def may_answer(actor: Actor, task: AssistTask) -> bool:
    """The assisting department itself, or an operator."""
    return is_operator(actor) or (actor.role == "staff" and actor.department_id == task.department_id)


def may_waive(svc: "TicketService", actor: Actor, ticket: Ticket) -> bool:
    """The lead department, the intake desk covering the ticket, or an operator."""
    lead_staff = actor.role == "staff" and actor.department_id == ticket.department_id
    return is_operator(actor) or lead_staff or (is_intake_desk(svc, actor) and desk_covers(svc, actor, ticket))


def _load(svc: "TicketService", actor: Actor, number: str) -> Ticket:
    ticket = svc.load(number, for_update=True)
    svc.check_visible(actor, ticket, allow_assisting=True)
    return ticket


def add_task(svc: "TicketService", actor: Actor, number: str, department_code: str,
             note: Optional[str] = None, now: Optional[datetime] = None) -> AssistTask:
    """An operator or the intake desk calls in another department (吹哨)."""
    now = now or utcnow()
    if not (is_operator(actor) or is_intake_desk(svc, actor)):
        raise Forbidden("只有话务员或受理中心可以增加协办部门 / only operators and the intake desk may add "
                        "an assisting department", "forbidden")
    ticket = svc.load(number, for_update=True)
    if not is_operator(actor) and not desk_covers(svc, actor, ticket):
        raise NotFound(f"工单不存在 / ticket not found: {number}", "ticket_not_found")
    if ticket.state not in lifecycle.OPEN_STATES:
        raise Conflict(f"工单已{lifecycle.STATE_NAMES.get(ticket.state, ticket.state)}，不能增加协办 / "
                       f"ticket is {ticket.state}", "ticket_not_open")
    dept = svc._department(department_code)
    if dept.intake_desk:
        raise Conflict("受理中心不能作为协办部门 / an intake desk cannot assist", "assist_intake_desk")
    if ticket.department_id == dept.id:
        raise Conflict("该部门已是主办部门 / this department already leads the ticket", "assist_is_lead")
    for task in ticket.assist_tasks or []:
        if task.department_id == dept.id:
            raise Conflict(f"{dept.name} 已是协办部门 / {dept.code} already assists", "assist_exists")
    text = svc._check_text(note, "协办事项 note", required=False)
    task = _new_task(svc, actor, ticket, dept, SOURCE_MANUAL, text, now)
    ticket.updated_at = now
    svc.session.flush()
    return task


def answer_task(svc: "TicketService", actor: Actor, number: str, department_code: str,
                reply: Optional[str], now: Optional[datetime] = None) -> AssistTask:
    """The assisting department (or an operator) reports back (报到) with its reply."""
    now = now or utcnow()
    ticket = _load(svc, actor, number)
    task = _find(ticket, department_code)
    if not may_answer(actor, task):
        raise Forbidden("只有该协办部门或话务员可以答复 / only the assisting department or an operator may answer",
                        "forbidden")
    if task.state != TASK_OPEN:
        raise Conflict(f"协办任务已{TASK_STATE_NAMES[task.state]} / task is {task.state}", "assist_not_open")
    text = svc._check_text(reply, "协办答复 reply", required=False)
    if not text:
        raise Invalid("协办答复不能为空 / answering needs a reply", "reply_required")
    task.state, task.reply, task.answered_at, task.updated_at = TASK_ANSWERED, text, now, now
    ticket.updated_at = now
    svc._event(ticket, actor, "assist_answered", now, ticket.state, ticket.state, note=text, data={
        "department": task.department.code, "overdue": is_task_overdue(task, now)})
    svc.session.flush()
    return task


def waive_task(svc: "TicketService", actor: Actor, number: str, department_code: str,
               reason: Optional[str], now: Optional[datetime] = None) -> AssistTask:
    """The lead department, the intake desk or an operator releases a task, with a reason."""
    now = now or utcnow()
    ticket = svc.load(number, for_update=True)
    desk = is_intake_desk(svc, actor) and desk_covers(svc, actor, ticket)
    if not desk:
        svc.check_visible(actor, ticket, allow_assisting=True)
    task = _find(ticket, department_code)
    if not may_waive(svc, actor, ticket):
        raise Forbidden("只有主办部门、受理中心或话务员可以免除协办 / only the lead department, the intake desk "
                        "or an operator may waive a task", "forbidden")
    if task.state != TASK_OPEN:
        raise Conflict(f"协办任务已{TASK_STATE_NAMES[task.state]} / task is {task.state}", "assist_not_open")
    text = svc._check_text(reason, "免除理由 reason", required=False)
    if not text:
        raise Invalid("免除协办必须说明理由 / waiving needs a reason", "reason_required")
    task.state, task.waive_reason, task.waived_at, task.updated_at = TASK_WAIVED, text, now, now
    ticket.updated_at = now
    svc._event(ticket, actor, "assist_waived", now, ticket.state, ticket.state, note=text, data={
        "department": task.department.code})
    svc.session.flush()
    return task


# ---------------------------------------------------------------------- queries
def department_tasks(session: Session, department_id: Optional[int], states: Sequence[str] = (TASK_OPEN,),
                     limit: int = 200) -> List[AssistTask]:
    """Tasks (newest first) of one department, or of every department when `department_id` is None."""
    stmt = select(AssistTask).options(selectinload(AssistTask.ticket), selectinload(AssistTask.department))
    if department_id is not None:
        stmt = stmt.where(AssistTask.department_id == department_id)
    if states:
        stmt = stmt.where(AssistTask.state.in_(list(states)))
    stmt = stmt.order_by(AssistTask.deadline_at.asc(), AssistTask.id.asc()).limit(limit)
    return list(session.execute(stmt).scalars())


def tasks_of_tickets(session: Session, ticket_ids: Iterable[int]) -> List[AssistTask]:
    ids = list(ticket_ids)
    if not ids:
        return []
    out: List[AssistTask] = []
    for i in range(0, len(ids), 500):
        out.extend(session.execute(
            select(AssistTask).where(AssistTask.ticket_id.in_(ids[i:i + 500]))
            .options(selectinload(AssistTask.department), selectinload(AssistTask.ticket))
        ).scalars())
    return out
