"""Ticket operations: create (routing + SLA + dedup + events), the lifecycle actions and the
reporter's follow-up. Functions flush but never commit: the caller owns the transaction, so a
failed operation changes nothing. Every change writes a TicketEvent row.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from routing import joint, lifecycle, notifications
from routing.auth import Actor
from routing.catalog import Catalog, Deadline, load_catalog
from routing.dedup import find_primary
from routing.errors import Conflict, Forbidden, Invalid, NotFound, ticket_not_found
from routing.models import Attachment, Department, Reporter, Ticket, TicketEvent
from routing.numbering import next_number
from routing.regions import normalise_location, resolve_region
from routing.reporters import is_reporter, normalise_phone, valid_identity
from routing.routing_rules import LEVEL_ORDER, RouteDecision, escalation_target, intake_desk, route
from routing.settings import Settings
from routing.sla import compute_deadline
from routing.timeutil import utcnow

CHANNELS = ("telegram", "sms", "voice", "web", "hotline", "wechat", "open311", "api", "other")
DEFAULT_DEADLINE = Deadline(working_days=5)
URGENT_DEFAULT_DEADLINE = Deadline(hours=24)
REPORTER_ACTOR_ROLE = "reporter"
# Actions whose permission has another name in routing.auth.ROLE_PERMISSIONS: reviewing drafts
# (awaiting_review) is dispatch work.
ACTION_PERMISSIONS: Dict[str, str] = {"confirm": "dispatch", "review": "dispatch"}
INITIAL_STATES = (lifecycle.RECEIVED, lifecycle.AWAITING_REVIEW)
INCIDENT_TIME_MAX = 200  # tickets.incident_time


@dataclass
class ReporterInput:
    name: Optional[str] = None
    phone: Optional[str] = None
    email: Optional[str] = None
    channel_identity: Optional[str] = None
    anonymous: bool = False


@dataclass
class AttachmentInput:
    filename: str
    content_type: str
    size: int
    url: Optional[str] = None
    stored_path: Optional[str] = None


@dataclass
class NewTicket:
    text: str
    channel: str
    normalised_text: Optional[str] = None
    event_type: Optional[str] = None
    nlu_confidence: Optional[float] = None
    location_text: Optional[str] = None
    incident_time: Optional[str] = None
    region_code: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    parties: List[Any] = field(default_factory=list)
    urgent: bool = False
    reporter: Optional[ReporterInput] = None
    attachments: List[AttachmentInput] = field(default_factory=list)
    # awaiting_review: a draft from transcript triage (routing.triage); duplicates are linked
    # when an operator confirms it, not before.
    initial_state: str = lifecycle.RECEIVED
    # A routing decision made by the caller (a grid worker's on-the-spot report goes to their own
    # grid, routing.grid); None = the routing rules decide. With it, no duplicate linking either.
    route_to: Optional[RouteDecision] = None
    # The caller is not sure (the bot's hand-off, a dropped call's draft): the event type is a
    # guess an operator confirms. Routed to the intake desk, flagged, deadline of an untyped
    # ticket, no duplicate linking on the guess.
    needs_operator: bool = False


def light_normalise(text: str) -> str:
    """NFKC (full-width → half-width) and collapsed whitespace; the NLU may send a better one."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


class TicketService:
    def __init__(self, session: Session, settings: Settings, catalog: Optional[Catalog] = None):
        self.session = session
        self.settings = settings
        self.catalog = catalog or load_catalog()

    # ------------------------------------------------------------------ helpers
    def _event(
        self, ticket: Ticket, actor: Actor, kind: str, now: datetime, from_state: Optional[str] = None,
        to_state: Optional[str] = None, note: Optional[str] = None, data: Optional[Dict[str, Any]] = None,
        actor_role: Optional[str] = None,
    ) -> TicketEvent:
        event = TicketEvent(
            ticket=ticket, actor=actor.name, actor_role=actor_role or actor.role, at=now, kind=kind,
            from_state=from_state, to_state=to_state if to_state is not None else ticket.state,
            note=note, data=data or {},
        )
        self.session.add(event)
        return event

    def _check_text(self, text: Optional[str], what: str, required: bool = True) -> Optional[str]:
        if text is None or not text.strip():
            if required:
                raise Invalid(f"{what}不能为空 / {what} must not be empty", "empty_text")
            return None
        if len(text) > self.settings.max_text_chars:
            raise Invalid(
                f"文字过长（上限 {self.settings.max_text_chars} 字）/ text longer than "
                f"{self.settings.max_text_chars} characters", "text_too_long",
            )
        return text.strip()

    def _deadline_for(self, event_type: Optional[str], urgent: bool, start: datetime) -> datetime:
        et = self.catalog.get(event_type) if event_type else None
        if et is not None:
            return compute_deadline(start, et.deadline)
        return compute_deadline(start, URGENT_DEFAULT_DEADLINE if urgent else DEFAULT_DEADLINE)

    def _department(self, code: str) -> Department:
        dept = self.session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()
        if dept is None or not dept.active:
            raise Invalid(f"未知部门 / unknown department: {code}", "unknown_department")
        return dept

    def _reporter(self, data: Optional[ReporterInput], channel: str, now: datetime) -> Optional[Reporter]:
        if data is None:
            return None
        identity = (data.channel_identity or "").strip() or None
        if identity and not valid_identity(identity):
            raise Invalid("渠道身份格式应为 渠道:编号 / channel_identity must look like telegram:12345",
                          "bad_channel_identity")
        phone = normalise_phone(data.phone)
        if identity is None and phone and channel in ("sms", "voice", "hotline"):
            identity = f"{channel}:{phone}"
        if not any((data.name, phone, data.email, identity)) and not data.anonymous:
            return None
        reporter = Reporter(
            name=(data.name or "").strip() or None, phone=phone, email=(data.email or "").strip() or None,
            channel_identity=identity, anonymous=bool(data.anonymous), created_at=now,
        )
        self.session.add(reporter)
        return reporter

    def _attachments(self, ticket: Ticket, items: Sequence[AttachmentInput], now: datetime) -> List[Attachment]:
        out = []
        for item in items:
            if item.size < 0 or item.size > self.settings.max_attachment_bytes:
                raise Invalid("附件大小超出限制 / attachment size out of range", "attachment_too_large")
            att = Attachment(
                ticket=ticket, filename=item.filename, content_type=item.content_type, size=item.size,
                url=item.url, stored_path=item.stored_path, created_at=now,
            )
            self.session.add(att)
            out.append(att)
        return out

    def load(self, number: str, for_update: bool = False) -> Ticket:
        stmt = (
            select(Ticket)
            .where(Ticket.number == number)
            .options(selectinload(Ticket.events), selectinload(Ticket.attachments))
        )
        if for_update and self.session.get_bind().dialect.name != "sqlite":
            stmt = stmt.with_for_update(of=Ticket)
        ticket = self.session.execute(stmt).scalar_one_or_none()
        if ticket is None:
            raise ticket_not_found(number)
        return ticket

    def check_visible(self, actor: Actor, ticket: Ticket, allow_assisting: bool = False) -> None:
        """Staff see only their department's tickets (others look like they do not exist);
        with `allow_assisting`, also the tickets their department assists (routing.joint)."""
        if actor.can("read_all"):
            return
        if actor.can("read_department") and actor.department_id is not None:
            if ticket.department_id == actor.department_id:
                return
            if allow_assisting and any(t.department_id == actor.department_id for t in ticket.assist_tasks or []):
                return
            raise ticket_not_found(ticket.number)
        raise Forbidden(f"角色 {actor.role} 无权查看工单 / role {actor.role} may not read tickets")

    # ------------------------------------------------------------------ create
    def create(self, actor: Actor, data: NewTicket, now: Optional[datetime] = None) -> Ticket:
        actor.require("create")
        now = now or utcnow()
        text = self._check_text(data.text, "内容 text")
        assert text is not None
        normalised = self._check_text(data.normalised_text, "规范化文本", required=False) or light_normalise(text)
        location_text = self._check_text(data.location_text, "地址", required=False)
        incident_time = self._check_text(data.incident_time, "发生时间", required=False)
        if incident_time is not None and len(incident_time) > INCIDENT_TIME_MAX:
            raise Invalid(f"发生时间过长 / incident_time longer than {INCIDENT_TIME_MAX} characters", "too_long")
        if data.channel not in CHANNELS:
            raise Invalid(f"未知渠道 / unknown channel: {data.channel} (one of {', '.join(CHANNELS)})",
                          "unknown_channel")
        if data.event_type is not None and data.event_type not in self.catalog:
            raise Invalid(f"未知事件类型 / unknown event type: {data.event_type}", "unknown_event_type")
        if (data.latitude is None) != (data.longitude is None):
            raise Invalid("经纬度需同时提供 / latitude and longitude go together", "bad_coordinates")
        if data.initial_state not in INITIAL_STATES:
            raise Invalid(f"未知初始状态 / bad initial state: {data.initial_state}", "bad_initial_state")
        initial = data.initial_state
        et = self.catalog.get(data.event_type) if data.event_type else None
        urgent = bool(data.urgent or (et is not None and et.urgent and not data.needs_operator))

        region = resolve_region(self.session, data.region_code, location_text)
        if data.region_code and (region is None or region.code != data.region_code):
            raise Invalid(f"未知区划代码 / unknown region code: {data.region_code}", "unknown_region")
        typed = None if data.needs_operator else data.event_type  # what routing and the SLA may trust
        decision = data.route_to or route(self.session, typed, region, self.catalog)
        location_key = normalise_location(location_text)
        skip_dedup = initial == lifecycle.AWAITING_REVIEW or data.route_to is not None or data.needs_operator
        primary = None if skip_dedup else find_primary(
            self.session, data.event_type, region, location_key, data.latitude, data.longitude, now,
            self.settings.dedup_window_hours, self.settings.dedup_radius_m,
        )
        reporter = self._reporter(data.reporter, data.channel, now)
        ticket = Ticket(
            number=next_number(self.session, now), channel=data.channel, reporter=reporter,
            original_text=text, normalised_text=normalised, event_type=data.event_type,
            nlu_confidence=data.nlu_confidence, location_text=location_text, location_key=location_key,
            incident_time=incident_time,
            region=region, latitude=data.latitude, longitude=data.longitude, parties=list(data.parties or []),
            urgent=urgent, department=decision.department, level=decision.level, state=initial,
            deadline_at=self._deadline_for(typed, urgent, now), created_at=now, updated_at=now,
            urge_count=0, escalation_count=0, duplicate_count=0, needs_operator=decision.needs_operator,
            type_guessed=bool(data.needs_operator and data.event_type),
        )
        self.session.add(ticket)
        self._attachments(ticket, data.attachments, now)
        self._event(ticket, actor, "created", now, None, initial, data={
            "channel": data.channel, "event_type": data.event_type, "urgent": urgent,
            "region": region.code if region is not None else None,
        })
        self._event(ticket, actor, "routed", now, initial, initial, note=decision.reason, data={
            "department": decision.department.code, "level": decision.level, "rule": decision.rule_key,
            "needs_operator": decision.needs_operator,
        })
        if primary is not None:
            self._link_duplicate(actor, ticket, primary, now)
        self.session.flush()
        if primary is not None:
            self.session.refresh(primary)
        return ticket

    def _link_duplicate(self, actor: Actor, ticket: Ticket, primary: Ticket, now: datetime) -> None:
        """集中反映: `ticket` follows `primary` (same department and level); both get an event."""
        ticket.duplicate_of = primary
        ticket.department = primary.department
        ticket.level = primary.level
        ticket.needs_operator = primary.needs_operator
        self.session.flush()
        self.session.execute(
            update(Ticket).where(Ticket.id == primary.id)
            .values(duplicate_count=Ticket.duplicate_count + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        self._event(ticket, actor, "duplicate_of", now, ticket.state, ticket.state,
                    note="集中反映：同类事件、同一地点 / same type, same place", data={"primary": primary.number})
        self._event(primary, actor, "duplicate_linked", now, primary.state, primary.state,
                    note="新的集中反映工单 / new duplicate report", data={"duplicate": ticket.number})

    # ------------------------------------------------------------------ lifecycle actions
    def act(self, actor: Actor, number: str, action: str, payload: Optional[Dict[str, Any]] = None,
            now: Optional[datetime] = None) -> Ticket:
        """dispatch / accept / progress / return / escalate / resolve / close / merge / reopen."""
        payload = payload or {}
        now = now or utcnow()
        if action not in lifecycle.TRANSITIONS or action in ("rate", "supplement", "urge"):
            raise NotFound(f"未知操作 / unknown action: {action}", "unknown_action")
        actor.require(ACTION_PERMISSIONS.get(action, action))
        ticket = self.load(number, for_update=True)
        self.check_visible(actor, ticket)
        from_state = ticket.state
        to_state = lifecycle.next_state(action, from_state)
        note = self._check_text(payload.get("note"), "说明 note", required=False)
        data: Dict[str, Any] = {}
        handler = getattr(self, f"_do_{action}")
        note = handler(actor, ticket, payload, note, data, now)
        ticket.state = to_state
        ticket.updated_at = now
        self._event(ticket, actor, action, now, from_state, to_state, note=note, data=data)
        self.session.flush()
        # Tell the reporter on their channel, after the commit; never fails the action.
        notifications.ticket_changed(self.session, ticket, action, from_state, to_state)
        return ticket

    def _do_confirm(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                    data: Dict[str, Any], now: datetime) -> Optional[str]:
        """A reviewed draft becomes a received ticket; a duplicate of an open ticket is linked now."""
        if t.duplicate_of_id is None and t.merged_into_id is None:
            primary = find_primary(
                self.session, t.event_type, t.region, t.location_key, t.latitude, t.longitude, now,
                self.settings.dedup_window_hours, self.settings.dedup_radius_m,
            )
            if primary is not None and primary.id != t.id:
                self._link_duplicate(actor, t, primary, now)
                data["duplicate_of"] = primary.number
        data.update({"event_type": t.event_type, "department": t.department.code if t.department else None})
        return note

    def _do_review(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                   data: Dict[str, Any], now: datetime) -> Optional[str]:
        return note or "转人工审核 / sent back to operator review"

    def _do_dispatch(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                     data: Dict[str, Any], now: datetime) -> Optional[str]:
        previous = t.department.code if t.department is not None else None
        if p.get("department_code"):
            t.department = self._department(str(p["department_code"]))
        if t.department is None or t.department.intake_desk:
            raise Conflict("请指定承办部门（不能派给受理中心）/ choose a handling department, not an intake desk",
                           "department_required")
        if p.get("level"):
            t.level = str(p["level"])
        t.needs_operator = False
        t.type_guessed = False
        t.dispatched_at = now
        data.update({"from_department": previous, "department": t.department.code, "level": t.level})
        # 中心吹哨: the catalogue's assisting departments join (one assist_added event each)
        added = joint.add_default_tasks(self, actor, t, now) if p.get("assisting", True) else []
        if added:
            data["assisting"] = [task.department.code for task in added]
        return note

    def _do_accept(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                   data: Dict[str, Any], now: datetime) -> Optional[str]:
        data["department"] = t.department.code if t.department is not None else None
        return note

    def _do_progress(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                     data: Dict[str, Any], now: datetime) -> Optional[str]:
        if not note:
            raise Invalid("请填写办理进展 / a progress note is required", "note_required")
        return note

    def _do_return(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                   data: Dict[str, Any], now: datetime) -> Optional[str]:
        reason = self._check_text(p.get("reason") or note, "退回理由 reason", required=False)
        if not reason:
            raise Invalid("退回必须说明理由 / a return needs a reason", "reason_required")
        desk = intake_desk(self.session, t.region)
        data.update({"from_department": t.department.code if t.department is not None else None,
                     "department": desk.code})
        t.department = desk
        t.needs_operator = True
        return reason

    def _do_escalate(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                     data: Dict[str, Any], now: datetime) -> Optional[str]:
        to_level = str(p["level"]) if p.get("level") else None
        if to_level is not None and LEVEL_ORDER.get(to_level, -1) <= LEVEL_ORDER.get(t.level, 0):
            raise Invalid(f"升级目标层级应高于当前层级 {t.level} / escalate to a level above {t.level}",
                          "bad_level")
        target = escalation_target(t.department, t.level, to_level)
        if target is None:
            raise Conflict("已是最高层级，无法升级 / already at the top level", "top_level")
        data.update({"from_department": t.department.code if t.department is not None else None,
                     "department": target.department.code, "from_level": t.level, "level": target.level})
        t.department = target.department
        t.level = target.level
        t.needs_operator = target.needs_operator
        t.escalation_count = (t.escalation_count or 0) + 1
        t.deadline_at = self._deadline_for(t.event_type, bool(t.urgent), now)
        data["deadline_at"] = t.deadline_at.isoformat()
        return note or "升级办理 / escalated"

    def _do_resolve(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                    data: Dict[str, Any], now: datetime) -> Optional[str]:
        reply = self._check_text(p.get("reply"), "办结答复 reply", required=False)
        if not reply:
            raise Invalid("办结必须填写答复 / resolving needs a reply to the reporter", "reply_required")
        joint.check_resolvable(t)  # 409 while an assisting task is neither answered nor waived
        t.resolution = reply
        t.resolved_at = now
        data["reply"] = reply
        return note

    def _do_close(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                  data: Dict[str, Any], now: datetime) -> Optional[str]:
        t.closed_at = now
        return note

    def _do_reopen(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                   data: Dict[str, Any], now: datetime) -> Optional[str]:
        if not note:
            raise Invalid("重新办理需说明原因 / reopening needs a reason", "note_required")
        data["previous_resolution"] = t.resolution
        t.resolved_at = None
        return note

    def _do_merge(self, actor: Actor, t: Ticket, p: Dict[str, Any], note: Optional[str],
                  data: Dict[str, Any], now: datetime) -> Optional[str]:
        into_number = str(p.get("into") or "").strip()
        if not into_number:
            raise Invalid("请指定合并到的工单号 / give the ticket number to merge into (into)", "into_required")
        if into_number == t.number:
            raise Conflict("不能合并到自身 / cannot merge a ticket into itself", "merge_self")
        target = self.load(into_number, for_update=True)
        if target.state not in lifecycle.OPEN_STATES:
            raise Conflict(f"目标工单已不在办理中 / target ticket is {target.state}", "merge_target_not_open")
        t.merged_into = target
        target.duplicate_count = (target.duplicate_count or 0) + 1
        target.updated_at = now
        self._event(target, actor, "merged_in", now, target.state, target.state,
                    note=note, data={"merged": t.number})
        data["into"] = target.number
        return note

    # ------------------------------------------------------------------ reporter follow-up
    def for_reporter(self, number: str, channel_identity: Optional[str], phone_tail: Optional[str],
                     for_update: bool = False) -> Ticket:
        """The ticket if the caller proves to be its reporter; otherwise 404 (no existence oracle)."""
        if not channel_identity and not phone_tail:
            raise Invalid("需要渠道身份或手机号后四位 / channel_identity or phone_tail required", "reporter_proof_required")
        try:
            ticket = self.load(number, for_update=for_update)
        except NotFound:
            raise ticket_not_found(number) from None
        if not is_reporter(ticket, channel_identity, phone_tail):
            raise ticket_not_found(number)
        return ticket

    def reporter_tickets(self, channel_identity: str, limit: int = 10) -> List[Ticket]:
        from routing.models import Reporter as R

        return list(
            self.session.execute(
                select(Ticket).join(R, Ticket.reporter_id == R.id)
                .where(R.channel_identity == channel_identity.strip())
                .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)
            ).scalars()
        )

    def _reporter_actor(self, actor: Actor) -> Actor:
        return Actor(name=f"reporter via {actor.name}", role=REPORTER_ACTOR_ROLE,
                     department_id=None, token_id=actor.token_id)

    def supplement(self, actor: Actor, ticket: Ticket, text: Optional[str],
                   attachments: Sequence[AttachmentInput], now: Optional[datetime] = None) -> Ticket:
        now = now or utcnow()
        lifecycle.next_state("supplement", ticket.state)
        body = self._check_text(text, "补充内容 text", required=not attachments)
        added = self._attachments(ticket, attachments, now)
        self.session.flush()
        ticket.updated_at = now
        self._event(ticket, self._reporter_actor(actor), "supplement", now, ticket.state, ticket.state,
                    note=body, data={"attachments": [a.id for a in added]})
        self.session.flush()
        return ticket

    def urge(self, actor: Actor, ticket: Ticket, note: Optional[str], now: Optional[datetime] = None) -> Ticket:
        now = now or utcnow()
        lifecycle.next_state("urge", ticket.state)
        note = self._check_text(note, "催办说明", required=False)
        ticket.urge_count = (ticket.urge_count or 0) + 1
        ticket.updated_at = now
        self._event(ticket, self._reporter_actor(actor), "urge", now, ticket.state, ticket.state,
                    note=note, data={"urge_count": ticket.urge_count})
        self.session.flush()
        return ticket

    def rate(self, actor: Actor, ticket: Ticket, rating: int, comment: Optional[str],
             now: Optional[datetime] = None) -> Ticket:
        now = now or utcnow()
        if ticket.rating is not None:
            raise Conflict("该工单已评价 / this ticket has already been rated", "already_rated")
        from_state = ticket.state
        to_state = lifecycle.next_state("rate", from_state)
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
            raise Invalid("评分应为 1–5 / rating must be 1–5", "bad_rating")
        ticket.rating = rating
        ticket.rating_comment = self._check_text(comment, "评价", required=False)
        ticket.state = to_state
        if ticket.closed_at is None:
            ticket.closed_at = now
        ticket.updated_at = now
        self._event(ticket, self._reporter_actor(actor), "rate", now, from_state, to_state,
                    note=ticket.rating_comment, data={"rating": rating})
        self.session.flush()
        return ticket

    def reporter_reopen(self, actor: Actor, ticket: Ticket, note: Optional[str],
                        now: Optional[datetime] = None) -> Ticket:
        now = now or utcnow()
        from_state = ticket.state
        to_state = lifecycle.next_state("reopen", from_state)
        reason = self._check_text(note, "未解决的原因 note")
        ticket.state = to_state
        ticket.resolved_at = None
        ticket.updated_at = now
        self._event(ticket, self._reporter_actor(actor), "reopen", now, from_state, to_state, note=reason,
                    data={"previous_resolution": ticket.resolution})
        self.session.flush()
        return ticket

    def add_attachment(self, actor: Actor, ticket: Ticket, item: AttachmentInput,
                       now: Optional[datetime] = None) -> Attachment:
        now = now or utcnow()
        if ticket.state in lifecycle.FINAL_STATES:
            raise Conflict(f"工单已{lifecycle.STATE_NAMES[ticket.state]} / ticket is {ticket.state}", "ticket_final")
        (att,) = self._attachments(ticket, [item], now)
        self.session.flush()
        ticket.updated_at = now
        self._event(ticket, actor, "attachment", now, ticket.state, ticket.state, note=item.filename,
                    data={"attachment": att.id, "size": item.size, "content_type": item.content_type})
        self.session.flush()
        return att
