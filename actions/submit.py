"""The confirmed report becomes a ticket (or waits in the outbox), and the resident hears the
number, the department and the deadline — now, or when the outbox delivers it."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, settings as settings_module
from actions.backend_client import idempotency_key
from actions.filing import deadline_text, department_name, file_ticket, report_payload
from actions.intake import REPORT_SLOTS
from actions.outbox import Outbox
from routing.catalog import load_catalog


def announce(dispatcher: CollectingDispatcher, domain: DomainDict, ticket: Dict[str, Any],
             response: str = "utter_ticket_filed") -> None:
    dispatcher.utter_message(response=response, number=ticket.get("number", ""),
                             department=department_name(ticket), deadline=deadline_text(domain, ticket))
    if ticket.get("duplicate_of"):
        dispatcher.utter_message(response="utter_ticket_duplicate")


def _reset() -> List[EventType]:
    return [SlotSet(name, None) for name in REPORT_SLOTS if name != "requested_slot"]


async def submit_report(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
    payload = report_payload(tracker, domain)
    report_id = tracker.get_slot("report_id") or context.latest_text(tracker)
    key = idempotency_key("report", tracker.sender_id, str(report_id))
    filing = await file_ticket(tracker, payload, key, "report")
    others = tracker.get_slot("other_issues") or []
    if filing.status == "filed":
        ticket = filing.ticket or {}
        announce(dispatcher, domain, ticket, "utter_emergency_ticket_filed" if payload.get("urgent") and
                 _is_emergency(payload) else "utter_ticket_filed")
        events: List[EventType] = _reset() + [SlotSet("ticket_number", ticket.get("number"))]
    elif filing.status == "queued":
        dispatcher.utter_message(response="utter_ticket_queued")
        events = _reset()
    else:
        dispatcher.utter_message(response="utter_ticket_failed")
        events = _reset()
    if others:
        catalog = load_catalog()
        names = context.text_of(domain, "utter_fragment_list_separator").join(
            catalog[c].name for c in others if c in catalog)
        dispatcher.utter_message(response="utter_report_other_now", other=names)
    return events


def _is_emergency(payload: Dict[str, Any]) -> bool:
    et = load_catalog().get(payload.get("event_type") or "")
    return bool(et and et.emergency)


class ActionSubmitReport(Action):
    def name(self) -> Text:
        return "action_submit_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if not tracker.get_slot("event_type"):
            dispatcher.utter_message(response="utter_nothing_to_submit")
            return [SlotSet("stage", None)]
        return await submit_report(dispatcher, tracker, domain)


class ActionNotifyTicket(Action):
    """Runs when the outbox delivered a queued report (intent EXTERNAL_ticket_filed)."""

    def name(self) -> Text:
        return "action_notify_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        numbers = context.entity_values(tracker.latest_message or {}, "ticket_number")
        if not numbers:
            return []
        entry = Outbox(settings_module.load().outbox_path).by_ticket(numbers[0])
        ticket = (entry.response if entry and entry.response else None) or {"number": numbers[0]}
        response = "utter_handoff_ticket_later" if entry is not None and entry.kind == "handoff" else \
            "utter_ticket_filed_later"
        announce(dispatcher, domain, ticket, response)
        return [SlotSet("ticket_number", numbers[0])]
