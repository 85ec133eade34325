"""Telling reporters that their ticket moved, on the channel they came from — and grid staff
(网格员) that a ticket reached their grid.

One interface, :class:`Notifier` (``send(identity, text) -> Delivery``), and a registry that picks
the notifier by the prefix of the reporter's channel identity (``telegram:12345`` →
Telegram, ``sms:+86…`` → SMS, ``voice:+86…`` and ``hotline:+86…`` → SMS to the caller). Built
from the environment on first use:

| notifier | needs | sends with |
|---|---|---|
| :class:`TelegramNotifier` | ``TELEGRAM_BOT_TOKEN`` (``TELEGRAM_API_BASE_URL``) | python-telegram-bot ``Bot.send_message`` |
| :class:`TwilioSmsNotifier` | ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_SMS_FROM`` or ``TWILIO_MESSAGING_SERVICE_SID`` (``TWILIO_API_BASE_URL``) | the Twilio REST client |

``NOTIFICATIONS_ENABLED=0`` switches everything off. The texts per lifecycle action are in
``routing/notifications.yml`` (actions not listed there send nothing): ``actions`` for the
reporter, ``grid_staff`` for the active workers of a grid station the ticket is sent to (on the
first of their channel identities a notifier serves; not the worker who reported it).

:func:`ticket_changed` is the hook the service calls after a lifecycle action. It never raises
and never sends inside the transaction: the message is queued on the session and handed to a
worker thread only after the commit (a rolled-back change notifies nobody, and a slow or failing
channel never holds the database or the API request). The outcome is recorded as a ticket event
(``notified`` / ``notify_failed`` / ``notify_skipped``, actor ``notifier``) in its own
transaction, and logged; a failure changes nothing else.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Protocol, runtime_checkable

import yaml
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from routing.catalog import load_catalog
from routing.models import Ticket, TicketEvent
from routing.timeutil import to_local, utcnow

log = logging.getLogger("routing.notifications")

TEXTS_PATH = Path(__file__).with_name("notifications.yml")
PENDING_KEY = "petition_pending_notifications"
LISTENING_KEY = "petition_notification_listeners"
ACTOR = "notifier"
ACTOR_ROLE = "system"
SECRET_ENV_VARS = ("TELEGRAM_BOT_TOKEN", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY_SECRET")
REPORTER, GRID_STAFF = "reporter", "grid_staff"  # who is told; their texts' section of notifications.yml
TEXT_SECTIONS = {REPORTER: "actions", GRID_STAFF: "grid_staff"}


# --------------------------------------------------------------------------- interface
@dataclass(frozen=True)
class Delivery:
    ok: bool
    detail: str = ""
    skipped: bool = False   # deliberately not sent (opted out …), not a failure
    parts: int = 0


@runtime_checkable
class Notifier(Protocol):
    channel: str

    def send(self, identity: str, text: str) -> Delivery:
        """Send `text` to the reporter known as `identity` (``<prefix>:<address>``). May raise;
        the caller records the exception as a failed delivery."""
        ...


class NotifierRegistry:
    def __init__(self) -> None:
        self._by_prefix: Dict[str, Notifier] = {}

    def register(self, prefix: str, notifier: Notifier) -> None:
        self._by_prefix[prefix] = notifier

    def for_identity(self, identity: Optional[str]) -> Optional[Notifier]:
        if not identity or ":" not in identity:
            return None
        return self._by_prefix.get(identity.split(":", 1)[0])

    @property
    def prefixes(self) -> List[str]:
        return sorted(self._by_prefix)

    def __bool__(self) -> bool:
        return bool(self._by_prefix)


def address_of(identity: str) -> str:
    return identity.split(":", 1)[1]


# --------------------------------------------------------------------------- implementations
class TelegramNotifier:
    """Telegram: ``telegram:<chat id>`` → Bot.send_message (python-telegram-bot)."""

    channel = "telegram"

    def __init__(self, token: str, api_base_url: Optional[str] = None):
        self.token = token
        self.api_base_url = api_base_url

    async def _send(self, chat_id: int, text: str) -> int:
        from channels.telegram_bot import make_bot, split_text

        parts = split_text(text)
        async with make_bot(self.token, self.api_base_url) as bot:
            for part in parts:
                await bot.send_message(chat_id=chat_id, text=part)
        return len(parts)

    def send(self, identity: str, text: str) -> Delivery:
        parts = asyncio.run(self._send(int(address_of(identity)), text))
        return Delivery(True, "sent", parts=parts)


class TwilioSmsNotifier:
    """SMS through Twilio, to ``sms:``, ``voice:`` and ``hotline:`` identities (the number after
    the prefix). Long texts are split like the SMS channel's replies; numbers that texted STOP
    (channels.optout) are skipped."""

    channel = "sms"

    def __init__(self, account_sid: str, auth_token: str, from_number: Optional[str] = None,
                 messaging_service_sid: Optional[str] = None, api_base_url: Optional[str] = None,
                 max_segments: int = 3, optout: Any = None):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        if not from_number and not messaging_service_sid:
            raise ValueError("TWILIO_SMS_FROM or TWILIO_MESSAGING_SERVICE_SID is required")
        self.client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=15))
        if api_base_url:
            self.client.api.base_url = api_base_url.rstrip("/")
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.max_segments = max_segments
        if optout is None:
            from channels.optout import OptOutStore

            optout = OptOutStore()
        self.optout = optout

    def send(self, identity: str, text: str) -> Delivery:
        from channels.sms_segments import split_message
        from twilio.base.exceptions import TwilioRestException

        phone = address_of(identity)
        if self.optout.is_opted_out(phone):
            return Delivery(False, "opted out (STOP)", skipped=True)
        chunks = split_message(text, self.max_segments)
        sent = 0
        try:
            for chunk in chunks:
                kwargs: Dict[str, Any] = {"to": phone, "body": chunk}
                if self.messaging_service_sid:
                    kwargs["messaging_service_sid"] = self.messaging_service_sid
                else:
                    kwargs["from_"] = self.from_number
                self.client.messages.create(**kwargs)
                sent += 1
        except TwilioRestException as exc:
            return Delivery(False, f"twilio error {exc.code}: {exc.msg}", parts=sent)
        return Delivery(True, "sent", parts=sent)


def configure_from_env(env: Optional[Mapping[str, str]] = None) -> NotifierRegistry:
    env = os.environ if env is None else env
    registry = NotifierRegistry()
    if (env.get("NOTIFICATIONS_ENABLED") or "1").strip().lower() in ("0", "false", "no", "off"):
        return registry
    _protect_logs(env)
    token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
    if token:
        registry.register("telegram", TelegramNotifier(token, (env.get("TELEGRAM_API_BASE_URL") or "").strip() or None))
    sid = (env.get("TWILIO_ACCOUNT_SID") or "").strip()
    auth = (env.get("TWILIO_AUTH_TOKEN") or "").strip()
    sender = (env.get("TWILIO_SMS_FROM") or "").strip() or None
    service = (env.get("TWILIO_MESSAGING_SERVICE_SID") or "").strip() or None
    if sid and auth and (sender or service):
        try:
            segments = int((env.get("SMS_MAX_SEGMENTS") or "3").strip())
        except ValueError:
            segments = 3
        sms = TwilioSmsNotifier(sid, auth, sender, service, (env.get("TWILIO_API_BASE_URL") or "").strip() or None,
                                max_segments=segments)
        for prefix in ("sms", "voice", "hotline"):
            registry.register(prefix, sms)
    if registry:
        log.info("reporter notifications on: %s", ", ".join(registry.prefixes))
    return registry


def _protect_logs(env: Mapping[str, str]) -> None:
    """Tokens appear in Bot API URLs and client errors: redact them from this process's logs."""
    from channels import logsafe

    for name in SECRET_ENV_VARS:
        logsafe.register_secret(env.get(name))
    logsafe.install()


_registry: Optional[NotifierRegistry] = None
_registry_lock = threading.Lock()


def get_registry() -> NotifierRegistry:
    global _registry
    with _registry_lock:
        if _registry is None:
            try:
                _registry = configure_from_env()
            except Exception:
                log.exception("reporter notifications could not be configured; they are off")
                _registry = NotifierRegistry()
        return _registry


def set_registry(registry: Optional[NotifierRegistry]) -> None:
    """Replace the registry (tests, or an application wiring its own notifiers); None rebuilds
    it from the environment on next use."""
    global _registry
    with _registry_lock:
        _registry = registry


# --------------------------------------------------------------------------- messages
@lru_cache(maxsize=None)
def _texts(section: str = "actions") -> Dict[str, str]:
    data = yaml.safe_load(TEXTS_PATH.read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in (data.get(section) or {}).items()}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def render(ticket: Ticket, action: str, audience: str = REPORTER) -> Optional[str]:
    """The message for `action` on `ticket` to the reporter or the grid staff, or None if the
    action tells them nothing."""
    template = _texts(TEXT_SECTIONS[audience]).get(action)
    if template is None:
        return None
    et = load_catalog().get(ticket.event_type) if ticket.event_type else None
    deadline = to_local(ticket.deadline_at) if ticket.deadline_at is not None else None
    values = _Blank(
        number=ticket.number,
        event_name=et.name if et is not None else "诉求",
        department=ticket.department.name if ticket.department is not None else "有关部门",
        deadline=f"{deadline.month}月{deadline.day}日" if deadline is not None else "规定时限",
        resolution=(ticket.resolution or "").strip(),
        into=ticket.merged_into.number if ticket.merged_into is not None else "",
        place=ticket.location_text or (ticket.region.name if ticket.region is not None else ""),
    )
    return template.format_map(values).strip()


# --------------------------------------------------------------------------- the hook
@dataclass
class _Job:
    ticket_id: int
    number: str
    identity: str
    text: str
    action: str
    state: str
    notifier: Notifier = field(repr=False)
    audience: str = REPORTER


_executor: Optional[ThreadPoolExecutor] = None
_executor_lock = threading.Lock()
_in_flight: "set[Future]" = set()


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="notify")
        return _executor


def _on_spot(ticket: Ticket) -> bool:
    """格内解决: a worker filed and closed it in the chat — nobody is to be told or asked to rate."""
    report = getattr(ticket, "grid_report", None)
    return report is not None and bool(report.on_spot)


def _reporter_identity(ticket: Ticket) -> Optional[str]:
    return ticket.reporter.channel_identity if ticket.reporter is not None else None


def _reporter_jobs(ticket: Ticket, action: str, state: str, registry: NotifierRegistry) -> List[_Job]:
    identity = _reporter_identity(ticket)
    notifier = registry.for_identity(identity)
    if _on_spot(ticket) or notifier is None or identity is None:
        return []
    message = render(ticket, action)
    return [_Job(ticket.id, ticket.number, identity, message, action, state, notifier)] if message else []


def _grid_staff_jobs(session: Session, ticket: Ticket, action: str, state: str,
                     registry: NotifierRegistry) -> List[_Job]:
    """A ticket sent to a grid station: each active worker of that grid, on the first of their
    identities a notifier serves — not the worker who reported it, nor anyone for 格内解决 (which
    dispatches too, already closed)."""
    if ticket.department is None or ticket.department.level != "grid" or _on_spot(ticket):
        return []
    message = render(ticket, action, GRID_STAFF)
    if not message:
        return []
    from routing.grid import staff_of_station  # routing.grid imports the service, which imports us

    reporter = _reporter_identity(ticket)
    jobs = []
    for staff in staff_of_station(session, ticket.department):
        identities = [i.identity for i in staff.identities]
        if reporter in identities:
            continue
        served = next(((i, n) for i in identities if (n := registry.for_identity(i)) is not None), None)
        if served is not None:
            jobs.append(_Job(ticket.id, ticket.number, served[0], message, action, state, served[1], GRID_STAFF))
    return jobs


def ticket_changed(session: Session, ticket: Ticket, action: str, from_state: Optional[str],
                   to_state: Optional[str]) -> None:
    """Queue the notifications of `action` (the reporter's; the grid staff's when a ticket reaches
    their grid); they go out after the commit. Never raises."""
    try:
        registry = get_registry()
        if not registry:
            return
        state = to_state or ticket.state
        jobs = _reporter_jobs(ticket, action, state, registry) + _grid_staff_jobs(session, ticket, action, state,
                                                                                   registry)
        if not jobs:
            return
        session.flush()
        session.info.setdefault(PENDING_KEY, []).extend(jobs)
        if not session.info.get(LISTENING_KEY):
            event.listen(session, "after_commit", _after_commit)
            event.listen(session, "after_rollback", _after_rollback)
            session.info[LISTENING_KEY] = True
    except Exception:
        log.exception("could not queue the notification of ticket %s (%s)", getattr(ticket, "number", "?"), action)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


def _after_commit(session: Session) -> None:
    jobs: List[_Job] = session.info.pop(PENDING_KEY, [])
    if not jobs:
        return
    try:
        engine = session.get_bind()
    except Exception:
        log.exception("notifications dropped: no engine to record them")
        return
    for job in jobs:
        try:
            future = _pool().submit(deliver, job, engine)
        except RuntimeError:  # interpreter shutting down
            log.warning("notification of ticket %s dropped at shutdown", job.number)
            continue
        with _executor_lock:
            _in_flight.add(future)
        future.add_done_callback(_done)


def _done(future: Future) -> None:
    with _executor_lock:
        _in_flight.discard(future)


def deliver(job: _Job, engine: Engine) -> Delivery:
    """Send one notification and record the outcome as a ticket event."""
    try:
        result = job.notifier.send(job.identity, job.text)
    except Exception as exc:  # every failure is recorded, none propagates
        result = Delivery(False, f"{type(exc).__name__}: {exc}")
    if result.ok:
        log.info("ticket %s: %s notified by %s (%s)", job.number, job.audience, job.notifier.channel, job.action)
        kind, note = "notified", job.text
    elif result.skipped:
        log.info("ticket %s: notification by %s skipped: %s", job.number, job.notifier.channel, result.detail)
        kind, note = "notify_skipped", result.detail
    else:
        log.warning("ticket %s: notification by %s failed: %s", job.number, job.notifier.channel, result.detail)
        kind, note = "notify_failed", result.detail
    try:
        with Session(bind=engine, future=True) as s:
            s.add(TicketEvent(
                ticket_id=job.ticket_id, actor=ACTOR, actor_role=ACTOR_ROLE, at=utcnow(), kind=kind,
                from_state=job.state, to_state=job.state, note=note[:2000],
                data={"channel": job.notifier.channel, "action": job.action, "ok": result.ok,
                      "detail": result.detail[:500], "parts": result.parts, "audience": job.audience},
            ))
            s.commit()
    except Exception:
        log.exception("ticket %s: could not record the notification outcome", job.number)
    return result


def wait_idle(timeout: float = 30.0) -> None:
    """Block until the notifications queued so far are done (CLI commands and tests)."""
    from concurrent.futures import wait

    with _executor_lock:
        pending = set(_in_flight)
    if pending:
        wait(pending, timeout=timeout)
