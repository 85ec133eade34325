"""JSON views of tickets and events. Who sees what is decided here:

* `ticket_view(..., with_reporter=True)` — operators, supervisors and the handling department's
  staff; the name and phone of an anonymous reporter are withheld even there.
* `reporter_view` — what the reporter may see about their own ticket (no internal notes of
  other parties, no identity of anybody else).
* Open311 output never contains reporter identity (routing.api.open311).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, List, Optional

from routing.catalog import load_catalog
from routing.joint import task_view
from routing.lifecycle import OPEN_STATES, STATE_NAMES, allowed_actions
from routing.models import Attachment, Department, Region, Ticket, TicketEvent
from routing.sla import colour
from routing.timeutil import iso_local, utcnow

_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
# Event kinds the reporter sees in their own history.
REPORTER_EVENT_KINDS = frozenset(
    {"created", "dispatch", "accept", "progress", "escalate", "resolve", "close", "rate", "reopen",
     "merge", "supplement", "urge", "return"}
)


def mask_phones(text: Optional[str]) -> Optional[str]:
    """Mask mainland mobile numbers inside free text: 138****8000."""
    if text is None:
        return None
    return _PHONE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def region_brief(region: Optional[Region]) -> Optional[Dict[str, Any]]:
    if region is None:
        return None
    return {"code": region.code, "name": region.name, "level": region.level}


def department_brief(dept: Optional[Department]) -> Optional[Dict[str, Any]]:
    if dept is None:
        return None
    return {"code": dept.code, "name": dept.name, "kind": dept.kind, "level": dept.level,
            "intake_desk": bool(dept.intake_desk)}


def attachment_view(a: Attachment) -> Dict[str, Any]:
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
            "url": a.url, "stored": a.stored_path is not None, "created_at": iso_local(a.created_at)}


def event_view(e: TicketEvent) -> Dict[str, Any]:
    return {"id": e.id, "at": iso_local(e.at), "actor": e.actor, "actor_role": e.actor_role, "kind": e.kind,
            "from_state": e.from_state, "to_state": e.to_state, "note": e.note, "data": e.data or {}}


def ticket_colour(ticket: Ticket, now: Optional[datetime] = None) -> Optional[str]:
    et = load_catalog().get(ticket.event_type) if ticket.event_type else None
    working_days = not (et and et.deadline.hours is not None)
    return colour(now or utcnow(), ticket.created_at, ticket.deadline_at, ticket.state in OPEN_STATES, working_days)


def is_overdue(ticket: Ticket, now: Optional[datetime] = None) -> bool:
    if ticket.deadline_at is None:
        return False
    now = now or utcnow()
    if ticket.state in OPEN_STATES:
        return now > ticket.deadline_at
    if ticket.resolved_at is not None:
        return ticket.resolved_at > ticket.deadline_at
    return False


def _type_info(code: Optional[str]) -> Dict[str, Any]:
    et = load_catalog().get(code) if code else None
    return {"event_type": code, "event_type_name": et.name if et else None, "domain": et.domain if et else None}


def ticket_view(ticket: Ticket, with_reporter: bool = True, now: Optional[datetime] = None) -> Dict[str, Any]:
    now = now or utcnow()
    out: Dict[str, Any] = {
        "number": ticket.number,
        "channel": ticket.channel,
        **_type_info(ticket.event_type),
        "nlu_confidence": ticket.nlu_confidence,
        "type_guessed": bool(ticket.type_guessed),
        "original_text": ticket.original_text,
        "normalised_text": ticket.normalised_text,
        "location_text": ticket.location_text,
        "incident_time": ticket.incident_time,
        "region": region_brief(ticket.region),
        "latitude": ticket.latitude,
        "longitude": ticket.longitude,
        "parties": ticket.parties or [],
        "urgent": bool(ticket.urgent),
        "department": department_brief(ticket.department),
        "level": ticket.level,
        "state": ticket.state,
        "state_name": STATE_NAMES.get(ticket.state, ticket.state),
        "allowed_actions": list(allowed_actions(ticket.state)),
        "deadline_at": iso_local(ticket.deadline_at),
        "warning": ticket_colour(ticket, now),
        "overdue": is_overdue(ticket, now),
        "created_at": iso_local(ticket.created_at),
        "updated_at": iso_local(ticket.updated_at),
        "dispatched_at": iso_local(ticket.dispatched_at),
        "resolved_at": iso_local(ticket.resolved_at),
        "closed_at": iso_local(ticket.closed_at),
        "urge_count": ticket.urge_count,
        "escalation_count": ticket.escalation_count,
        "duplicate_count": ticket.duplicate_count,
        "duplicate_of": ticket.duplicate_of.number if ticket.duplicate_of is not None else None,
        "merged_into": ticket.merged_into.number if ticket.merged_into is not None else None,
        "needs_operator": bool(ticket.needs_operator),
        "resolution": ticket.resolution,
        "rating": ticket.rating,
        "rating_comment": ticket.rating_comment,
        "attachments": [attachment_view(a) for a in ticket.attachments],
        # joint handling: the assisting departments' tasks (routing.joint)
        "assist_tasks": [task_view(a, now) for a in ticket.assist_tasks or []],
    }
    if with_reporter:
        rep = ticket.reporter
        if rep is None:
            out["reporter"] = None
        else:
            out["reporter"] = {
                "anonymous": bool(rep.anonymous),
                "name": None if rep.anonymous else rep.name,
                "phone": None if rep.anonymous else rep.phone,
                "email": None if rep.anonymous else rep.email,
                "channel_identity": rep.channel_identity,
            }
    return out


def ticket_summary(ticket: Ticket, now: Optional[datetime] = None) -> Dict[str, Any]:
    """A list row: no text bodies, no reporter."""
    now = now or utcnow()
    return {
        "number": ticket.number,
        "channel": ticket.channel,
        **_type_info(ticket.event_type),
        "region": region_brief(ticket.region),
        "department": department_brief(ticket.department),
        "level": ticket.level,
        "state": ticket.state,
        "urgent": bool(ticket.urgent),
        "deadline_at": iso_local(ticket.deadline_at),
        "warning": ticket_colour(ticket, now),
        "overdue": is_overdue(ticket, now),
        "created_at": iso_local(ticket.created_at),
        "duplicate_count": ticket.duplicate_count,
        "duplicate_of": ticket.duplicate_of.number if ticket.duplicate_of is not None else None,
        "needs_operator": bool(ticket.needs_operator),
        "urge_count": ticket.urge_count,
    }


TODO_EXCERPT_CHARS = 60


def staff_todo_row(ticket: Ticket, now: Optional[datetime] = None) -> Dict[str, Any]:
    """A row of a grid worker's to-do list (我的待办): the list row plus what the worker needs to
    go and look — the place as reported, the start of the text, the state's name. Still no
    reporter: the worker calls the resident through the ticket page, not from a chat list."""
    text = " ".join((ticket.original_text or "").split())
    return {
        **ticket_summary(ticket, now),
        "state_name": STATE_NAMES.get(ticket.state, ticket.state),
        "location_text": ticket.location_text,
        "excerpt": text[:TODO_EXCERPT_CHARS] + ("…" if len(text) > TODO_EXCERPT_CHARS else ""),
    }


def reporter_view(ticket: Ticket, now: Optional[datetime] = None) -> Dict[str, Any]:
    now = now or utcnow()
    history: List[Dict[str, Any]] = []
    for e in ticket.events:
        if e.kind not in REPORTER_EVENT_KINDS:
            continue
        history.append({"at": iso_local(e.at), "kind": e.kind, "to_state": e.to_state,
                        "state_name": STATE_NAMES.get(e.to_state or "", None)})
    return {
        "number": ticket.number,
        **_type_info(ticket.event_type),
        "state": ticket.state,
        "state_name": STATE_NAMES.get(ticket.state, ticket.state),
        "department": ticket.department.name if ticket.department is not None else None,
        "deadline_at": iso_local(ticket.deadline_at),
        "overdue": is_overdue(ticket, now),
        "created_at": iso_local(ticket.created_at),
        "resolved_at": iso_local(ticket.resolved_at),
        "resolution": ticket.resolution,
        "rating": ticket.rating,
        "urge_count": ticket.urge_count,
        "duplicate_of": ticket.duplicate_of.number if ticket.duplicate_of is not None else None,
        "can_rate": ticket.state == "resolved" or (ticket.state == "closed" and ticket.rating is None),
        "can_reopen": ticket.state == "resolved",
        "can_urge": ticket.state in OPEN_STATES,
        "history": history,
    }
