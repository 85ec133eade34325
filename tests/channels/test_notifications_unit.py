"""The notifier hook inside the routing service, on a real (SQLite) database with recording
notifiers: sent only after a commit, never on rollback, failures recorded and harmless."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest
from sqlalchemy import select

from routing import notifications
from routing.auth import Actor
from routing.db import make_engine, make_session_factory, session_scope
from routing.migrate import upgrade
from routing.models import TicketEvent
from routing.notifications import Delivery, Notifier, NotifierRegistry, configure_from_env, render
from routing.seed import seed_all
from routing.service import NewTicket, ReporterInput, TicketService
from routing.settings import Settings

INTAKE = Actor(name="test-intake", role="intake")
OPERATOR = Actor(name="test-operator", role="operator")


class Recorder:
    channel = "telegram"

    def __init__(self, fail: bool = False):
        self.fail = fail
        self.sent: List[Tuple[str, str]] = []
        self.lock = threading.Lock()

    def send(self, identity: str, text: str) -> Delivery:
        if self.fail:
            raise ConnectionError("Bot API unreachable")
        with self.lock:
            self.sent.append((identity, text))
        return Delivery(True, "sent", parts=1)


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory):
    url = f"sqlite:///{tmp_path_factory.mktemp('notify') / 'routing.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        seed_all(session)
    yield factory
    engine.dispose()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    registry = NotifierRegistry()
    registry.register("telegram", rec)
    notifications.set_registry(registry)
    yield rec
    notifications.wait_idle()
    notifications.set_registry(NotifierRegistry())  # nothing configured for the other tests


SETTINGS = Settings.from_env({"DATABASE_URL": "sqlite://", "ROUTING_DEDUP_WINDOW_HOURS": "0"})


def new_ticket(factory, identity="telegram:4242") -> str:
    with session_scope(factory) as session:
        ticket = TicketService(session, SETTINGS).create(INTAKE, NewTicket(
            text="岳麓区桃子湖社区楼下烧烤店半夜噪音扰民", channel="telegram", event_type="noise_pollution",
            location_text="岳麓区岳麓街道桃子湖社区",
            reporter=ReporterInput(channel_identity=identity) if identity else None))
        return ticket.number


def kinds(factory, number: str) -> List[str]:
    with session_scope(factory) as session:
        from routing.models import Ticket

        tid = session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one()
        return [e.kind for e in session.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)).scalars()]


def test_notified_after_commit_and_recorded(factory, recorder: Recorder):
    number = new_ticket(factory)
    with session_scope(factory) as session:
        TicketService(session, SETTINGS).act(OPERATOR, number, "dispatch")
        assert recorder.sent == []  # nothing leaves before the commit
    notifications.wait_idle()
    ((identity, text),) = recorder.sent
    assert identity == "telegram:4242" and number in text
    assert kinds(factory, number)[-2:] == ["dispatch", "notified"]


def test_rolled_back_changes_notify_nobody(factory, recorder: Recorder):
    number = new_ticket(factory)
    with pytest.raises(RuntimeError):
        with session_scope(factory) as session:
            TicketService(session, SETTINGS).act(OPERATOR, number, "dispatch")
            raise RuntimeError("something later in the request failed")
    notifications.wait_idle()
    assert recorder.sent == []
    assert "dispatch" not in kinds(factory, number)


def test_a_failing_notifier_leaves_the_state_change_and_a_trace(factory):
    failing = Recorder(fail=True)
    registry = NotifierRegistry()
    registry.register("telegram", failing)
    notifications.set_registry(registry)
    try:
        number = new_ticket(factory)
        with session_scope(factory) as session:
            ticket = TicketService(session, SETTINGS).act(OPERATOR, number, "dispatch")
            assert ticket.state == "dispatched"
        notifications.wait_idle()
        assert kinds(factory, number)[-2:] == ["dispatch", "notify_failed"]
        with session_scope(factory) as session:
            event = session.execute(select(TicketEvent).where(TicketEvent.kind == "notify_failed")
                                    .order_by(TicketEvent.id.desc())).scalars().first()
            assert "Bot API unreachable" in event.note and event.actor == "notifier"
    finally:
        notifications.set_registry(NotifierRegistry())


def test_actions_without_a_text_and_reporters_without_identity_send_nothing(factory, recorder: Recorder):
    number = new_ticket(factory)
    with session_scope(factory) as session:
        service = TicketService(session, SETTINGS)
        service.act(OPERATOR, number, "dispatch")
        service.act(OPERATOR, number, "accept")  # no text for accept
    nobody = new_ticket(factory, identity=None)
    with session_scope(factory) as session:
        TicketService(session, SETTINGS).act(OPERATOR, nobody, "dispatch")
    other = new_ticket(factory, identity="wechat:abc")  # no notifier for this channel
    with session_scope(factory) as session:
        TicketService(session, SETTINGS).act(OPERATOR, other, "dispatch")
    notifications.wait_idle()
    assert len(recorder.sent) == 1
    assert "notified" not in kinds(factory, nobody) and "notified" not in kinds(factory, other)


def test_resolution_message_asks_for_a_rating(factory, recorder: Recorder):
    number = new_ticket(factory)
    with session_scope(factory) as session:
        service = TicketService(session, SETTINGS)
        service.act(OPERATOR, number, "dispatch")
        service.act(OPERATOR, number, "accept")
        ticket = service.act(OPERATOR, number, "resolve", {"reply": "已责令停止夜间经营"})
        message = render(ticket, "resolve")
    notifications.wait_idle()
    assert "已责令停止夜间经营" in message and "1-5" in message and number in message
    assert [t for _, t in recorder.sent][-1] == message


def test_registry_from_the_environment(tmp_path: Path):
    env = {"TELEGRAM_BOT_TOKEN": "1234567:" + "a" * 35, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "TWILIO_AUTH_TOKEN": "tok-" + "b" * 20, "TWILIO_SMS_FROM": "+8673100000000",
           "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "SMS_OPTOUT_PATH": str(tmp_path / "o.sqlite3")}
    registry = configure_from_env(env)
    assert registry.prefixes == ["hotline", "sms", "telegram", "voice"]
    assert registry.for_identity("voice:+8613800001111").channel == "sms"
    assert registry.for_identity("telegram:1").channel == "telegram"
    assert registry.for_identity("wechat:1") is None and registry.for_identity(None) is None
    assert isinstance(registry.for_identity("sms:+86138"), Notifier)
    assert not configure_from_env(dict(env, NOTIFICATIONS_ENABLED="0"))
    assert configure_from_env({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "x"}).prefixes == []


GRID_STATION = "430104001001-G01-WGZ"  # 桃子湖社区第一网格工作站: 周小敏 (telegram:700001)


def test_a_ticket_sent_to_a_grid_tells_its_workers(factory, recorder: Recorder):
    number = new_ticket(factory)
    with session_scope(factory) as session:
        TicketService(session, SETTINGS).act(OPERATOR, number, "dispatch",
                                             {"department_code": GRID_STATION, "level": "grid"})
    notifications.wait_idle()
    sent = dict(recorder.sent)
    assert set(sent) == {"telegram:4242", "telegram:700001"}  # the reporter and the grid worker
    assert sent["telegram:700001"].startswith(f"【网格待办】新派单 {number}「噪音扰民」岳麓区岳麓街道桃子湖社区")
    with session_scope(factory) as session:
        from routing.models import Ticket

        tid = session.execute(select(Ticket.id).where(Ticket.number == number)).scalar_one()
        audiences = sorted(e.data["audience"] for e in session.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == tid, TicketEvent.kind == "notified")).scalars())
    assert audiences == ["grid_staff", "reporter"]


def test_the_worker_who_resolved_on_the_spot_is_not_told_of_their_own_ticket(factory, recorder: Recorder):
    from routing import grid

    with session_scope(factory) as session:
        service = TicketService(session, SETTINGS)
        staff = grid.staff_by_identity(session, "telegram:700001")
        ticket = grid.resolve_on_spot(service, INTAKE, staff, NewTicket(
            text="桃子湖路口摊贩占道，已劝离", channel="telegram", event_type="street_occupation"),
            "已劝离", "telegram:700001")
        assert ticket.state == "closed"
    notifications.wait_idle()
    assert all(identity != "telegram:700001" for identity, _ in recorder.sent)
