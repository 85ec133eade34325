"""Queues, filters and search of the console.

Queues (operators and supervisors): awaiting_review, to_dispatch (received, or escalated to an
intake desk), returned, near_deadline (open, SLA colour yellow), overdue (open, past the
deadline), all. Staff: todo (dispatched/escalated to their department), in_progress,
near_deadline, overdue, all — always only their department's tickets.
Filters: event type, region (the whole subtree), department, channel; search: ticket number
prefix, phone digits, or text in the ticket text and location.
Assisting tasks (协办任务, routing.joint): the task queue, overdue first, filtered by state and
department (staff: their department's tasks), and the badge counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from routing import joint, lifecycle
from routing.auth import Actor
from routing.models import AssistTask, Department, Region, Reporter, Ticket
from routing.regions import get_region, subtree_ids
from routing.timeutil import utcnow
from routing.views import ticket_colour

OPERATOR_QUEUES = ("awaiting_review", "to_dispatch", "returned", "near_deadline", "overdue", "all")
STAFF_QUEUES = ("todo", "in_progress", "near_deadline", "overdue", "all")
OPEN = sorted(lifecycle.OPEN_STATES)
NEAR_WINDOW = timedelta(days=12)  # candidates for "yellow": the colour itself is decided per ticket
PAGE_SIZE = 30
ASSIST_LIMIT = 1000  # the task queue sorts in Python over at most this many tasks (earliest deadline first)


def queues_for(actor: Actor) -> Tuple[str, ...]:
    return OPERATOR_QUEUES if actor.can("read_all") else STAFF_QUEUES


@dataclass
class Filters:
    event_type: Optional[str] = None
    region: Optional[str] = None
    department: Optional[str] = None
    channel: Optional[str] = None
    q: Optional[str] = None

    def as_query(self) -> Dict[str, str]:
        out = {"type": self.event_type, "region": self.region, "department": self.department,
               "channel": self.channel, "q": self.q}
        return {k: v for k, v in out.items() if v}


@dataclass
class QueuePage:
    queue: str
    tickets: List[Ticket]
    total: int
    page: int
    pages: int
    filters: Filters
    counts: Dict[str, int] = field(default_factory=dict)


def _queue_conds(queue: str, now: datetime) -> List[Any]:
    if queue == "awaiting_review":
        return [Ticket.state == lifecycle.AWAITING_REVIEW]
    if queue == "to_dispatch":
        return [or_(Ticket.state == lifecycle.RECEIVED,
                    and_(Ticket.state == lifecycle.ESCALATED, Ticket.needs_operator.is_(True)))]
    if queue == "returned":
        return [Ticket.state == lifecycle.RETURNED]
    if queue == "todo":
        return [Ticket.state.in_([lifecycle.DISPATCHED, lifecycle.ESCALATED])]
    if queue == "in_progress":
        return [Ticket.state == lifecycle.IN_PROGRESS]
    if queue == "overdue":
        return [Ticket.state.in_(OPEN), Ticket.deadline_at < now]
    if queue == "near_deadline":
        return [Ticket.state.in_(OPEN), Ticket.deadline_at >= now, Ticket.deadline_at < now + NEAR_WINDOW]
    return []


def _filter_conds(session: Session, actor: Actor, filters: Filters) -> List[Any]:
    conds: List[Any] = []
    if not actor.can("read_all"):
        conds.append(Ticket.department_id == actor.department_id)
    if filters.event_type:
        conds.append(Ticket.event_type == (None if filters.event_type == "_none" else filters.event_type))
    if filters.region:
        region = get_region(session, filters.region)
        conds.append(Ticket.region_id.in_(subtree_ids(session, region)) if region is not None else Ticket.id < 0)
    if filters.department:
        dept = session.execute(select(Department).where(Department.code == filters.department)).scalar_one_or_none()
        conds.append(Ticket.department_id == (dept.id if dept is not None else -1))
    if filters.channel:
        conds.append(Ticket.channel == filters.channel)
    if filters.q and filters.q.strip():
        term = filters.q.strip()
        options = [Ticket.number.startswith(term, autoescape=True),
                   Ticket.original_text.contains(term, autoescape=True),
                   Ticket.location_text.contains(term, autoescape=True)]
        digits = re.sub(r"\D", "", term)
        if len(digits) >= 4 and digits == re.sub(r"[\s\-+]", "", term):
            options.append(Reporter.phone.contains(digits, autoescape=True))
        conds.append(or_(*options))
    return conds


def _order(queue: str) -> List[Any]:
    if queue in ("near_deadline", "overdue"):
        return [Ticket.deadline_at.asc(), Ticket.id.asc()]
    if queue in ("awaiting_review", "to_dispatch", "returned", "todo"):
        return [Ticket.created_at.asc(), Ticket.id.asc()]
    return [Ticket.created_at.desc(), Ticket.id.desc()]


def _base(conds: List[Any]) -> Any:
    return select(Ticket).outerjoin(Reporter, Ticket.reporter_id == Reporter.id).where(*conds)


def count_queue(session: Session, actor: Actor, queue: str, filters: Filters, now: datetime) -> int:
    conds = _queue_conds(queue, now) + _filter_conds(session, actor, filters)
    if queue == "near_deadline":
        rows = session.execute(_base(conds)).scalars()
        return sum(1 for t in rows if ticket_colour(t, now) == "yellow")
    return session.execute(
        select(func.count()).select_from(Ticket).outerjoin(Reporter, Ticket.reporter_id == Reporter.id).where(*conds)
    ).scalar_one()


def list_queue(session: Session, actor: Actor, queue: str, filters: Filters, page: int = 1,
               now: Optional[datetime] = None, page_size: int = PAGE_SIZE) -> QueuePage:
    now = now or utcnow()
    conds = _queue_conds(queue, now) + _filter_conds(session, actor, filters)
    options = (selectinload(Ticket.region), selectinload(Ticket.department), selectinload(Ticket.duplicate_of),
               selectinload(Ticket.reporter))
    page = max(1, page)
    if queue == "near_deadline":
        rows = [t for t in session.execute(_base(conds).order_by(*_order(queue)).options(*options)).scalars()
                if ticket_colour(t, now) == "yellow"]
        total = len(rows)
        tickets = rows[(page - 1) * page_size: page * page_size]
    else:
        total = count_queue(session, actor, queue, filters, now)
        tickets = list(session.execute(
            _base(conds).order_by(*_order(queue)).limit(page_size).offset((page - 1) * page_size).options(*options)
        ).scalars())
    pages = max(1, (total + page_size - 1) // page_size)
    return QueuePage(queue, tickets, total, page, pages, filters)


def queue_counts(session: Session, actor: Actor, now: Optional[datetime] = None) -> Dict[str, int]:
    now = now or utcnow()
    empty = Filters()
    return {q: count_queue(session, actor, q, empty, now) for q in queues_for(actor) if q != "all"}


def region_options(session: Session) -> List[Dict[str, Any]]:
    """Every region, depth-first, with its depth for indentation."""
    regions = list(session.execute(select(Region).order_by(Region.code)).scalars())
    children: Dict[Optional[int], List[Region]] = {}
    for r in regions:
        children.setdefault(r.parent_id, []).append(r)
    out: List[Dict[str, Any]] = []

    def walk(parent: Optional[int], depth: int) -> None:
        for r in children.get(parent, []):
            out.append({"code": r.code, "name": r.name, "level": r.level, "depth": depth})
            walk(r.id, depth + 1)

    walk(None, 0)
    return out


def department_options(session: Session) -> List[Department]:
    return list(session.execute(
        select(Department).where(Department.active.is_(True)).order_by(Department.code)
    ).scalars())


# ---------------------------------------------------------------------------------------- assisting tasks
def assist_department(session: Session, actor: Actor, code: Optional[str]) -> Tuple[bool, Optional[int]]:
    """Which department's tasks the user may list: staff their own (whatever they ask for);
    operators and supervisors all, or the one asked for. (False, None) when nothing matches."""
    if not actor.can("read_all"):
        return actor.department_id is not None, actor.department_id
    if not code:
        return True, None
    dept = session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
    return (True, dept.id) if dept is not None else (False, None)


@dataclass
class AssistPage:
    rows: List[Dict[str, Any]]
    total: int
    page: int
    pages: int
    truncated: int  # the limit when the list was cut there, else 0


def list_assists(session: Session, actor: Actor, states: Tuple[str, ...], department: Optional[str] = None,
                 overdue_only: bool = False, page: int = 1, now: Optional[datetime] = None,
                 page_size: int = PAGE_SIZE) -> AssistPage:
    """Tasks as routing.joint.department_tasks lists them (the API's queue), overdue first
    (routing.joint.is_task_overdue), then by deadline; with the colour of the open ones."""
    now = now or utcnow()
    ok, dept_id = assist_department(session, actor, department)
    tasks = joint.department_tasks(session, dept_id, states, limit=ASSIST_LIMIT) if ok else []
    rows = [{"task": t, "overdue": joint.is_task_overdue(t, now), "colour": joint.task_colour(t, now)} for t in tasks]
    if overdue_only:
        rows = [r for r in rows if r["overdue"]]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (not r["overdue"], r["task"].deadline_at or far, r["task"].id))
    page = max(1, page)
    pages = max(1, (len(rows) + page_size - 1) // page_size)
    return AssistPage(rows[(page - 1) * page_size: page * page_size], len(rows), page, pages,
                      ASSIST_LIMIT if len(tasks) >= ASSIST_LIMIT else 0)


def assist_counts(session: Session, actor: Actor, now: Optional[datetime] = None) -> Dict[str, int]:
    """The 协办任务 badge: the open tasks the user sees, and those past their deadline (an open
    task past its deadline is overdue, routing.joint.is_task_overdue)."""
    now = now or utcnow()
    ok, dept_id = assist_department(session, actor, None)
    if not ok:
        return {}
    conds: List[Any] = [AssistTask.state == joint.TASK_OPEN]
    if dept_id is not None:
        conds.append(AssistTask.department_id == dept_id)
    count = select(func.count()).select_from(AssistTask)
    return {"assists": session.execute(count.where(*conds)).scalar_one(),
            "assists_overdue": session.execute(count.where(*conds, AssistTask.deadline_at < now)).scalar_one()}
