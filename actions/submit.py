"""The confirmed report becomes a ticket (or waits in the outbox), and the resident hears the
number, the department and the deadline — now, or when the outbox delivers it."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, settings as settings_module, staff as staff_module
from actions.backend_client import idempotency_key
from actions.fallback import hand_off
from actions.filing import STAFF_REPORT, deadline_text, department_name, file_ticket, report_payload
from actions.report_slots import REPORT_SLOTS
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


def _filing_of(tracker: Tracker, payload: Dict[str, Any], on_spot_note: Optional[str]) -> Tuple[str, Dict[str, Any]]:
    """(outbox kind, payload): a grid worker's report goes to their own endpoint, where the
    backend makes them the reporter and may close it on the spot (小事格内解决)."""
    identity = context.channel_identity(tracker)
    if not staff_module.profile(tracker) or not identity:
        return "report", payload
    body = {k: v for k, v in payload.items() if k != "reporter"}
    if on_spot_note:
        body.update(resolve_on_spot=True, note=on_spot_note)
    return STAFF_REPORT, {"identity": identity, "body": body}


def _filed_response(payload: Dict[str, Any], kind: str, on_spot_note: Optional[str]) -> str:
    if payload.get("urgent") and _is_emergency(payload):
        return "utter_emergency_ticket_filed"
    if kind == STAFF_REPORT:
        return "utter_staff_on_spot_closed" if on_spot_note else "utter_staff_reported"
    return "utter_ticket_filed"


async def submit_report(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                        on_spot_note: Optional[str] = None) -> List[EventType]:
    """File the report; `on_spot_note`: a grid worker resolved it on the spot with this note."""
    payload = report_payload(tracker)
    report_id = tracker.get_slot("report_id") or context.latest_text(tracker)
    key = idempotency_key("report", tracker.sender_id, str(report_id))
    kind, filed = _filing_of(tracker, payload, on_spot_note)
    filing = await file_ticket(tracker, filed, key, kind)
    others = tracker.get_slot("other_issues") or []
    if filing.status == "filed":
        ticket = filing.ticket or {}
        announce(dispatcher, domain, ticket, _filed_response(payload, kind, on_spot_note))
        events: List[EventType] = _reset() + [SlotSet("ticket_number", ticket.get("number"))]
    elif filing.status == "queued":
        dispatcher.utter_message(response="utter_ticket_queued")
        events = _reset()
    else:
        # refused (4xx): the report still reaches a person, as a hand-off with the transcript
        events = await hand_off(dispatcher, tracker, domain, "utter_handoff_after_rejection")
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
