"""SQLAlchemy models of the routing backend (2.0-style usage on SQLAlchemy 1.4).

Reporter identity (name, phone, channel identity) lives in `reporters`, apart from the ticket
text, so it can be withheld from every view that is not the reporter's own or a case handler's.
Every change of a ticket writes a `ticket_events` row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import backref, declarative_base, relationship
from sqlalchemy.types import TypeDecorator

from routing.timeutil import as_utc

Base = declarative_base()

REGION_LEVELS = ("city", "county", "township", "village-community", "grid")


class UTCDateTime(TypeDecorator):
    """Stored as naive UTC on every backend, returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        return as_utc(value)


department_regions = Table(
    "department_regions",
    Base.metadata,
    Column("department_id", Integer, ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", Integer, ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
)


class Region(Base):
    __tablename__ = "regions"

    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    level = Column(String(24), nullable=False)
    parent_id = Column(Integer, ForeignKey("regions.id"), nullable=True, index=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)

    parent = relationship("Region", remote_side=[id], backref="children")

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"


class Department(Base):
    __tablename__ = "departments"

    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(100), nullable=False, unique=True)
    kind = Column(String(60), nullable=False, index=True)
    level = Column(String(24), nullable=False)
    region_id = Column(Integer, ForeignKey("regions.id"), nullable=False)
    parent_id = Column(Integer, ForeignKey("departments.id"), nullable=True)
    intake_desk = Column(Boolean, nullable=False, default=False)
    active = Column(Boolean, nullable=False, default=True)

    region = relationship("Region", foreign_keys=[region_id])
    parent = relationship("Department", remote_side=[id])
    regions = relationship("Region", secondary=department_regions, lazy="selectin")

    def __repr__(self) -> str:
        return f"<Department {self.code} {self.name}>"


class RoutingRule(Base):
    __tablename__ = "routing_rules"

    id = Column(Integer, primary_key=True)
    key = Column(String(120), nullable=False, unique=True)
    source = Column(String(16), nullable=False)  # catalogue | data
    event_type = Column(String(64), nullable=False, index=True)  # a code or "*"
    region_id = Column(Integer, ForeignKey("regions.id"), nullable=True)  # the subtree; NULL = anywhere
    region_level = Column(String(24), nullable=True)  # only tickets resolved to this level
    department_id = Column(Integer, ForeignKey("departments.id"), nullable=True)
    department_kind = Column(String(60), nullable=True)  # resolved against the ticket's region
    level = Column(String(24), nullable=True)  # NULL = the catalogue level
    priority = Column(Integer, nullable=False, default=0)
    active = Column(Boolean, nullable=False, default=True)
    note = Column(Text, nullable=True)

    region = relationship("Region")
    department = relationship("Department")


class Reporter(Base):
    __tablename__ = "reporters"

    id = Column(Integer, primary_key=True)
    name = Column(String(100), nullable=True)
    phone = Column(String(32), nullable=True, index=True)
    email = Column(String(200), nullable=True)
    channel_identity = Column(String(200), nullable=True, index=True)
    anonymous = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False)


class Ticket(Base):
    __tablename__ = "tickets"

    id = Column(Integer, primary_key=True)
    number = Column(String(32), nullable=False, unique=True)
    channel = Column(String(32), nullable=False, index=True)
    reporter_id = Column(Integer, ForeignKey("reporters.id"), nullable=True, index=True)
    original_text = Column(Text, nullable=False)
    normalised_text = Column(Text, nullable=False)
    event_type = Column(String(64), nullable=True, index=True)
    nlu_confidence = Column(Float, nullable=True)
    location_text = Column(Text, nullable=True)
    # when it happened, as the reporter said it ("每天晚上十点以后", "昨天下午"): free text
    incident_time = Column(String(200), nullable=True)
    location_key = Column(String(300), nullable=True, index=True)
    region_id = Column(Integer, ForeignKey("regions.id"), nullable=True, index=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    parties = Column(JSON, nullable=False, default=list)
    urgent = Column(Boolean, nullable=False, default=False)
    department_id = Column(Integer, ForeignKey("departments.id"), nullable=True, index=True)
    level = Column(String(24), nullable=False)
    state = Column(String(24), nullable=False, index=True)
    deadline_at = Column(UTCDateTime, nullable=True, index=True)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    updated_at = Column(UTCDateTime, nullable=False)
    dispatched_at = Column(UTCDateTime, nullable=True)
    resolved_at = Column(UTCDateTime, nullable=True)
    closed_at = Column(UTCDateTime, nullable=True)
    urge_count = Column(Integer, nullable=False, default=0)
    escalation_count = Column(Integer, nullable=False, default=0)
    duplicate_count = Column(Integer, nullable=False, default=0)
    duplicate_of_id = Column(Integer, ForeignKey("tickets.id"), nullable=True, index=True)
    merged_into_id = Column(Integer, ForeignKey("tickets.id"), nullable=True)
    needs_operator = Column(Boolean, nullable=False, default=False)
    # event_type is the bot's guess (created with needs_operator); cleared when a person confirms
    # it (dispatch, a type correction)
    type_guessed = Column(Boolean, nullable=False, default=False)
    resolution = Column(Text, nullable=True)
    rating = Column(Integer, nullable=True)
    rating_comment = Column(Text, nullable=True)

    reporter = relationship("Reporter")
    region = relationship("Region")
    department = relationship("Department")
    duplicate_of = relationship("Ticket", remote_side=[id], foreign_keys=[duplicate_of_id])
    merged_into = relationship("Ticket", remote_side=[id], foreign_keys=[merged_into_id])
    attachments = relationship("Attachment", order_by="Attachment.id", back_populates="ticket")
    events = relationship("TicketEvent", order_by="TicketEvent.id", back_populates="ticket")

    __table_args__ = (Index("ix_tickets_type_created", "event_type", "created_at"),)


class Attachment(Base):
    __tablename__ = "attachments"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    filename = Column(String(255), nullable=False)
    content_type = Column(String(100), nullable=False)
    size = Column(Integer, nullable=False)
    stored_path = Column(Text, nullable=True)
    url = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False)

    ticket = relationship("Ticket", back_populates="attachments")


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    actor = Column(String(120), nullable=False)
    actor_role = Column(String(24), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    kind = Column(String(32), nullable=False)
    from_state = Column(String(24), nullable=True)
    to_state = Column(String(24), nullable=True)
    note = Column(Text, nullable=True)
    data = Column(JSON, nullable=False, default=dict)

    ticket = relationship("Ticket", back_populates="events")


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    prefix = Column(String(12), nullable=False)
    name = Column(String(100), nullable=False)
    role = Column(String(24), nullable=False)
    department_id = Column(Integer, ForeignKey("departments.id"), nullable=True)
    created_at = Column(UTCDateTime, nullable=False)
    revoked_at = Column(UTCDateTime, nullable=True)

    department = relationship("Department", lazy="joined")


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    id = Column(Integer, primary_key=True)
    scope = Column(String(200), nullable=False)
    key = Column(String(200), nullable=False)
    request_hash = Column(String(64), nullable=False)
    status_code = Column(Integer, nullable=False)
    response = Column(JSON, nullable=False)
    created_at = Column(UTCDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)


class TicketCounter(Base):
    __tablename__ = "ticket_counters"

    day = Column(String(8), primary_key=True)
    value = Column(Integer, nullable=False, default=0)


class TriageRecord(Base):
    """What the NLU made of a hotline transcript that became a ticket (draft): the turns, the
    caller's text as sent to the model, the model's answer (intent ranking, entities) and the
    prediction the draft started with. The console shows it; corrections are compared with it."""

    __tablename__ = "triage_records"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, unique=True)
    source = Column(String(300), nullable=True)  # file name#index, "console", "api"
    transcript = Column(Text, nullable=False)  # the transcript as given (decoded)
    turns = Column(JSON, nullable=False, default=list)  # [{"speaker", "role", "text"}]
    caller_text = Column(Text, nullable=False)  # the caller's turns, joined: what the NLU saw
    nlu_text = Column(Text, nullable=True)  # the model's normalised text (entity offsets refer to it)
    nlu = Column(JSON, nullable=False, default=dict)  # intent, intent_ranking, entities, location_resolution
    predicted_type = Column(String(64), nullable=True)
    confidence = Column(Float, nullable=True)
    predicted_location = Column(Text, nullable=True)
    predicted_region = Column(String(32), nullable=True)
    predicted_parties = Column(JSON, nullable=False, default=list)
    low_confidence = Column(Boolean, nullable=False, default=False)
    duplicate_number = Column(String(32), nullable=True)  # open ticket it seemed to duplicate at triage
    created_by = Column(String(120), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)

    ticket = relationship("Ticket", backref=backref("triage", uselist=False))


class TrainingCandidate(Base):
    """An operator's correction of the model's event type, location or parties: material for the
    trainers. A later correction of the same field of the same ticket supersedes the earlier one."""

    __tablename__ = "training_candidates"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="SET NULL"), nullable=True, index=True)
    ticket_number = Column(String(32), nullable=True)
    field = Column(String(24), nullable=False, index=True)  # event_type | location | party
    text = Column(Text, nullable=False)  # the caller's text the model saw
    model_answer = Column(JSON, nullable=True)
    model_confidence = Column(Float, nullable=True)
    operator_answer = Column(JSON, nullable=True)
    extra = Column(JSON, nullable=False, default=dict)
    actor = Column(String(120), nullable=False)
    actor_role = Column(String(24), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, index=True)
    superseded_at = Column(UTCDateTime, nullable=True)


class ConsoleUser(Base):
    """A person who logs in to the operator console: username + scrypt password hash, mapped to a
    backend role (operator / staff / supervisor) and, for staff, a department."""

    __tablename__ = "console_users"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(100), nullable=False)
    password_hash = Column(String(300), nullable=False)
    role = Column(String(24), nullable=False)
    department_id = Column(Integer, ForeignKey("departments.id"), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False)
    last_login_at = Column(UTCDateTime, nullable=True)

    department = relationship("Department", lazy="joined")


class ConsoleSession(Base):
    """A login: the cookie holds a random token, the database its SHA-256 and a CSRF token."""

    __tablename__ = "console_sessions"

    id = Column(Integer, primary_key=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    csrf_token = Column(String(64), nullable=False)
    user_id = Column(Integer, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False)
    expires_at = Column(UTCDateTime, nullable=False)

    user = relationship("ConsoleUser", lazy="joined")


# ---------------------------------------------------------------------- grid staff (网格员)
grid_staff_regions = Table(
    "grid_staff_regions",
    Base.metadata,
    Column("staff_id", Integer, ForeignKey("grid_staff.id", ondelete="CASCADE"), primary_key=True),
    Column("region_id", Integer, ForeignKey("regions.id", ondelete="CASCADE"), primary_key=True),
)


class GridStaff(Base):
    """A grid worker (网格员): the grid region(s) they cover and their channel identities. The
    tickets of their grid are those whose lead department is the grid's station (a department of
    level `grid` serving the grid region; routing/data/departments.yml)."""

    __tablename__ = "grid_staff"

    id = Column(Integer, primary_key=True)
    code = Column(String(40), nullable=False, unique=True)
    name = Column(String(100), nullable=False)
    phone = Column(String(32), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False)

    regions = relationship("Region", secondary=grid_staff_regions, lazy="selectin", order_by="Region.code")
    identities = relationship("GridStaffIdentity", back_populates="staff", lazy="selectin",
                              cascade="all, delete-orphan", order_by="GridStaffIdentity.identity")


class GridStaffIdentity(Base):
    """A channel identity (`telegram:12345`, `sms:+8613800001111`) of one grid worker."""

    __tablename__ = "grid_staff_identities"

    id = Column(Integer, primary_key=True)
    staff_id = Column(Integer, ForeignKey("grid_staff.id", ondelete="CASCADE"), nullable=False, index=True)
    identity = Column(String(200), nullable=False, unique=True)

    staff = relationship("GridStaff", back_populates="identities")


class GridReport(Base):
    """A ticket a grid worker reported from patrol; `on_spot` when it was resolved on the spot
    (小事格内解决)."""

    __tablename__ = "grid_reports"

    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    staff_id = Column(Integer, ForeignKey("grid_staff.id"), nullable=False, index=True)
    region_id = Column(Integer, ForeignKey("regions.id"), nullable=True)
    on_spot = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False)

    ticket = relationship("Ticket", backref=backref("grid_report", uselist=False))
    staff = relationship("GridStaff")
    region = relationship("Region")


# ---------------------------------------------------------------------- joint handling (协办)
class AssistTask(Base):
    """An assisting department's task on a ticket (中心吹哨、部门报到). The ticket's own department
    is the lead; the lead may resolve only when every task is answered or waived."""

    __tablename__ = "assist_tasks"

    id = Column(Integer, primary_key=True)
    ticket_id = Column(Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True)
    department_id = Column(Integer, ForeignKey("departments.id"), nullable=False, index=True)
    state = Column(String(16), nullable=False, index=True)  # open | answered | waived
    source = Column(String(16), nullable=False)  # catalogue | manual
    note = Column(Text, nullable=True)  # what the department is asked to do
    deadline_at = Column(UTCDateTime, nullable=True, index=True)
    working_days = Column(Boolean, nullable=False, default=True)  # deadline counted in working days
    reply = Column(Text, nullable=True)
    waive_reason = Column(Text, nullable=True)
    created_by = Column(String(120), nullable=False)
    created_at = Column(UTCDateTime, nullable=False)
    updated_at = Column(UTCDateTime, nullable=False)
    answered_at = Column(UTCDateTime, nullable=True)
    waived_at = Column(UTCDateTime, nullable=True)

    ticket = relationship("Ticket", backref=backref("assist_tasks", order_by="AssistTask.id"))
    department = relationship("Department")

    __table_args__ = (UniqueConstraint("ticket_id", "department_id", name="uq_assist_ticket_department"),)
