"""Never lose a report: the backend is down → the outbox; delivery later → exactly one ticket, and
the resident is told the number."""
from __future__ import annotations

from actions.backend_client import BackendClient, idempotency_key
from actions.delivery import run_once
from actions.outbox import Outbox
from actions.submit import ActionNotifyTicket, ActionSubmitReport
from action_helpers import ent, message, operator_get, responses, run, slots_of, tracker
from tests.support.processes import free_port

REPORT = {"event_type": "sanitation", "event_confidence": 0.9, "report_text": "小区门口垃圾三天没人清理了",
          "report_id": "r-outbox", "location": "岳麓区桃子湖社区", "phone": "13900001111", "anonymous": False}


class RecordingNotifier:
    def __init__(self):
        self.sent = []

    def notify(self, entry):
        self.sent.append((entry.conversation_id, entry.ticket_number))


def _count(backend_url, text):
    return operator_get(backend_url, "/api/tickets", q=text, limit=50)["total"]


def test_backend_down_queues_the_report_and_delivery_files_it_once(domain, backend_url, action_env, monkeypatch):
    monkeypatch.setenv("ROUTING_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    report = dict(REPORT, report_text="小区门口垃圾三天没人清理了-outbox-1")
    t = tracker(message("确认", intent="affirm"), slots=report)
    msgs, events = run(ActionSubmitReport(), t, domain)
    assert responses(msgs) == ["utter_ticket_queued"]
    assert "ticket_number" not in slots_of(events)
    outbox = Outbox(action_env)
    (entry,) = outbox.pending()
    assert entry.conversation_id == t.sender_id and entry.payload["event_type"] == "sanitation"

    # still down: nothing delivered, the row stays
    notifier = RecordingNotifier()
    assert run_once(outbox, BackendClient(retries=0), notifier, base_delay=0) == 0
    assert outbox.pending() and notifier.sent == []

    # back up: delivered once, announced once
    monkeypatch.setenv("ROUTING_URL", backend_url)
    assert run_once(outbox, BackendClient(retries=0), notifier, base_delay=0) == 1
    delivered = outbox.get(entry.key)
    assert delivered.ticket_number and notifier.sent == [(t.sender_id, delivered.ticket_number)]
    assert run_once(outbox, BackendClient(retries=0), notifier, base_delay=0) == 0
    assert len(notifier.sent) == 1
    assert _count(backend_url, "outbox-1") == 1

    # the resident hears the number in their conversation
    notify = tracker(message("", intent="EXTERNAL_ticket_filed",
                             entities=[ent("ticket_number", delivered.ticket_number)]), sender=t.sender_id)
    msgs, events = run(ActionNotifyTicket(), notify, domain)
    assert responses(msgs)[0] == "utter_ticket_filed_later"
    assert msgs[0]["number"] == delivered.ticket_number and msgs[0]["department"]
    assert slots_of(events)["ticket_number"] == delivered.ticket_number


def test_a_ticket_created_before_the_answer_was_lost_is_not_created_again(domain, backend_url, action_env):
    """The backend committed but the answer never arrived: the outbox's retry replays it."""
    payload = {"text": "路灯坏了一个星期-outbox-2", "channel": "web", "event_type": "municipal_facilities",
               "reporter": {"channel_identity": "web:lost-answer", "anonymous": False}}
    key = idempotency_key("report", "lost-answer", "r-2")
    first = BackendClient().create_ticket(payload, key)
    outbox = Outbox(action_env)
    assert outbox.enqueue(key, "lost-answer", "report", payload)
    assert not outbox.enqueue(key, "lost-answer", "report", payload)  # queued once
    run_once(outbox, BackendClient(retries=0), None, base_delay=0)
    assert outbox.get(key).ticket_number == first["number"]
    assert _count(backend_url, "outbox-2") == 1


def test_the_outbox_survives_a_restart(action_env):
    Outbox(action_env).enqueue("k-restart", "c-1", "report", {"text": "x", "channel": "web"})
    assert [e.key for e in Outbox(action_env).pending()] == ["k-restart"]
