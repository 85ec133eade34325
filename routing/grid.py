"""Grid staff (网格员) in the field.

A grid worker is registered (routing/data/grid_staff.yml → `grid_staff`) with the grid region(s)
they cover and their channel identities. Their grid's tickets are those whose lead department is
the grid's station: an active department of level `grid` serving the grid region
(routing/data/departments.yml, kind 网格工作站; its parent is the township's 综治中心, so an
escalation from the grid goes to the township).

What they do, through the bot's intake token (or an operator, or a staff token of their grid's
station):
* report from patrol — the ordinary create path, their channel identity as the reporter, their
  (first) grid as the default place, routed by the routing rules like any report;
* resolve on the spot (小事格内解决) — create, route to their own grid, dispatch, accept, resolve
  with their note and close, every step an ordinary lifecycle action with its event row; the
  ticket counts as resolved within the grid in the statistics (routing.stats);
* work their to-do list (我的待办) — accept, progress, resolve with a reply, escalate to the
  township with a reason: the existing lifecycle actions (TicketService.act).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from routing import lifecycle
from routing.auth import Actor
from routing.errors import Forbidden, Invalid, NotFound, ticket_not_found
from routing.models import (Department, GridReport, GridStaff, GridStaffIdentity, Ticket, department_regions,
                            grid_staff_regions)
from routing.regions import resolve_region
from routing.reporters import normalise_phone, valid_identity
from routing.routing_rules import RouteDecision
from routing.service import NewTicket, ReporterInput, TicketService
from routing.timeutil import utcnow
from routing.views import department_brief, region_brief

GRID_STAFF_ROLE = "grid_staff"
STAFF_ACTIONS = ("accept", "progress", "resolve", "escalate")
PHONE_CHANNELS = ("sms", "voice", "hotline", "phone")
ESCALATE_TO = "township"


def normalise_identity(identity: str) -> str:
    """`channel:id`, trimmed; the number of a phone channel in E.164 (sms:13800001111 →
    sms:+8613800001111)."""
    identity = (identity or "").strip()
    channel, sep, rest = identity.partition(":")
    if sep and channel.lower() in PHONE_CHANNELS:
        return f"{channel.lower()}:{normalise_phone(rest) or rest}"
    return identity


def staff_by_identity(session: Session, identity: str) -> GridStaff:
    """The active grid worker with this channel identity; 404 otherwise."""
    key = normalise_identity(identity)
    staff = None
    if key and valid_identity(key):
        staff = session.execute(
            select(GridStaff).join(GridStaffIdentity, GridStaffIdentity.staff_id == GridStaff.id)
            .where(GridStaffIdentity.identity == key, GridStaff.active.is_(True))
        ).scalar_one_or_none()
    if staff is None:
        raise NotFound("未登记的网格员 / no grid staff with this channel identity", "staff_not_found")
    return staff


def grid_departments(session: Session, staff: GridStaff) -> List[Department]:
    """The grid stations (level-grid departments) serving the worker's grids."""
    ids = [r.id for r in staff.regions]
    if not ids:
        return []
    return list(session.execute(
        select(Department).join(department_regions, department_regions.c.department_id == Department.id)
        .where(Department.level == "grid", Department.active.is_(True), department_regions.c.region_id.in_(ids))
        .order_by(Department.code).distinct()
    ).scalars())


def staff_of_station(session: Session, station: Department) -> List[GridStaff]:
    """The active grid workers covering a region the grid station serves."""
    ids = [r.id for r in station.regions]
    if not ids:
        return []
    return list(session.execute(
        select(GridStaff).join(grid_staff_regions, grid_staff_regions.c.staff_id == GridStaff.id)
        .where(GridStaff.active.is_(True), grid_staff_regions.c.region_id.in_(ids))
        .order_by(GridStaff.code).distinct()
    ).scalars())


def authorize(actor: Actor, stations: Sequence[Department], write: bool) -> None:
    """The bot (intake) and operators act for any grid worker; supervisors may look; a staff
    token only for the workers of its own grid station."""
    if actor.role in ("intake", "operator"):
        return
    if actor.role == "supervisor" and not write:
        return
    if actor.role == "staff" and actor.department_id in {d.id for d in stations}:
        return
    raise Forbidden(f"角色 {actor.role} 无权代网格员操作 / role {actor.role} may not act for this grid worker")


def staff_actor(staff: GridStaff, via: Actor, department: Optional[Department]) -> Actor:
    """The grid worker as the actor of the events (through the caller's token)."""
    return Actor(name=f"网格员 {staff.name} ({staff.code}) via {via.name}", role=GRID_STAFF_ROLE,
                 department_id=department.id if department is not None else None, token_id=via.token_id)


def staff_view(session: Session, staff: GridStaff) -> Dict[str, Any]:
    stations = grid_departments(session, staff)
    return {
        "code": staff.code,
        "name": staff.name,
        "phone": staff.phone,
        "identities": [i.identity for i in staff.identities],
        "grids": [{**(region_brief(r) or {}), "parent": r.parent.code if r.parent else None} for r in staff.regions],
        "departments": [department_brief(d) for d in stations],
        "default_region": staff.regions[0].code if staff.regions else None,
    }


def _station_for(session: Session, staff: GridStaff, region_code: Optional[str]) -> Department:
    stations = grid_departments(session, staff)
    if not stations:
        raise Invalid("该网格员的网格没有网格工作站 / no grid station serves this worker's grid", "no_grid_station")
    if region_code:
        for d in stations:
            if any(r.code == region_code for r in d.regions):
                return d
    return stations[0]


def _own_grid_code(staff: GridStaff, region_code: Optional[str]) -> Optional[str]:
    """The given region, else the worker's first grid."""
    if region_code:
        return region_code
    return staff.regions[0].code if staff.regions else None


def _place(session: Session, staff: GridStaff, data: NewTicket) -> Optional[str]:
    """The region of a patrol report: the given code; else what the location text names, when it
    names a community or grid; else the worker's (first) grid."""
    if data.region_code:
        return data.region_code
    if data.location_text:
        named = resolve_region(session, None, data.location_text)
        if named is not None and named.level in ("village-community", "grid"):
            return None  # create() resolves the same text to the same region
    return _own_grid_code(staff, None)


def report(svc: TicketService, via: Actor, staff: GridStaff, data: NewTicket, identity: Optional[str] = None,
           now: Optional[datetime] = None) -> Ticket:
    """A patrol report: the ordinary create path; the worker is the reporter (never anonymous),
    their grid the default place."""
    via.require("create")
    now = now or utcnow()
    station = _station_for(svc.session, staff, data.region_code)
    actor = staff_actor(staff, via, station)
    data = replace(
        data,
        region_code=_place(svc.session, staff, data),
        reporter=ReporterInput(name=staff.name, phone=staff.phone,
                               channel_identity=normalise_identity(identity) if identity else
                               (staff.identities[0].identity if staff.identities else None)),
    )
    ticket = svc.create(actor, data, now=now)
    svc.session.add(GridReport(ticket=ticket, staff=staff, region=ticket.region, on_spot=False, created_at=now))
    svc.session.flush()
    return ticket


def resolve_on_spot(svc: TicketService, via: Actor, staff: GridStaff, data: NewTicket, note: str,
                    identity: Optional[str] = None, now: Optional[datetime] = None) -> Ticket:
    """小事格内解决: created, routed to the worker's own grid, dispatched, accepted, resolved with
    the note and closed — one transaction, one event row per step."""
    via.require("create")
    now = now or utcnow()
    note_text = svc._check_text(note, "处置说明 note", required=False)
    if not note_text:
        raise Invalid("格内解决必须填写处置说明 / resolving on the spot needs a note", "note_required")
    station = _station_for(svc.session, staff, data.region_code)
    actor = staff_actor(staff, via, station)
    region_code = data.region_code or _own_grid_code(staff, None)
    decision = RouteDecision(station, "grid", False, "grid_staff:on_spot",
                             "网格员格内解决 / resolved on the spot by the grid worker")
    data = replace(
        data, region_code=region_code, route_to=decision,
        reporter=ReporterInput(name=staff.name, phone=staff.phone,
                               channel_identity=normalise_identity(identity) if identity else
                               (staff.identities[0].identity if staff.identities else None)),
    )
    ticket = svc.create(actor, data, now=now)
    svc.session.add(GridReport(ticket=ticket, staff=staff, region=ticket.region, on_spot=True, created_at=now))
    svc.session.flush()
    number = ticket.number
    svc.act(actor, number, "dispatch", {"department_code": station.code, "level": "grid", "assisting": False,
                                        "note": "格内处置 / handled within the grid"}, now=now)
    svc.act(actor, number, "accept", {}, now=now)
    svc.act(actor, number, "resolve", {"reply": note_text, "note": "小事格内解决 / resolved on the spot"}, now=now)
    return svc.act(actor, number, "close", {"note": "格内解决，当场办结 / closed on the spot"}, now=now)


def todo(session: Session, staff: GridStaff, states: Optional[Sequence[str]] = None,
         limit: int = 50) -> List[Ticket]:
    """我的待办: the tickets whose lead department is one of the worker's grid stations."""
    ids = [d.id for d in grid_departments(session, staff)]
    if not ids:
        return []
    wanted = list(states) if states else sorted(lifecycle.OPEN_STATES)
    return list(session.execute(
        select(Ticket).where(Ticket.department_id.in_(ids), Ticket.state.in_(wanted))
        .order_by(Ticket.deadline_at.asc(), Ticket.id.asc()).limit(limit)
        .options(selectinload(Ticket.region), selectinload(Ticket.department), selectinload(Ticket.duplicate_of))
    ).scalars())


def act(svc: TicketService, via: Actor, staff: GridStaff, number: str, action: str,
        payload: Dict[str, Any], now: Optional[datetime] = None) -> Ticket:
    """accept / progress / resolve / escalate on a ticket of the worker's grid, through the
    ordinary lifecycle action. Escalation goes to the township and needs a reason."""
    if action not in STAFF_ACTIONS:
        raise NotFound(f"未知操作 / unknown action: {action} (one of {', '.join(STAFF_ACTIONS)})", "unknown_action")
    stations = {d.id: d for d in grid_departments(svc.session, staff)}
    ticket = svc.load(number)
    if ticket.department_id not in stations:
        raise ticket_not_found(number)  # not this worker's ticket: as if it did not exist
    payload = {k: v for k, v in payload.items() if k in ("note", "reply", "reason")}
    if action == "escalate":
        reason = (payload.pop("reason", None) or payload.get("note") or "").strip()
        if not reason:
            raise Invalid("上报街道必须说明理由 / escalating to the township needs a reason", "reason_required")
        payload = {"note": reason, "level": ESCALATE_TO}
    actor = staff_actor(staff, via, stations[ticket.department_id])
    return svc.act(actor, number, action, payload, now=now)
