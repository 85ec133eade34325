"""When the bot is unsure: a clarifying question with the two likeliest types as buttons; on the
second failure in a row, or when the resident asks, the conversation goes to a human operator as a
ticket without a type (the backend flags it ``needs_operator`` and routes it to the intake desk)
carrying the whole transcript."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context
from actions.backend_client import idempotency_key
from actions.filing import deadline_text, department_name, file_ticket, reporter
from actions.report_slots import MAX_ATTACHMENTS, REPORT_SLOTS
from routing.catalog import load_catalog

MAX_FAILURES = 2
GUESS_MIN_CONFIDENCE = 0.2


def type_guess(tracker: Tracker) -> Optional[str]:
    """The operator's starting point: the report's type if one was under way, else the likeliest
    type of the latest message since the last filed ticket that had one (the backend keeps it as
    a guess: needs_operator)."""
    if tracker.get_slot("event_type") in load_catalog():
        return tracker.get_slot("event_type")
    for event in reversed(tracker.events):
        if event.get("event") == "slot" and event.get("name") == "ticket_number" and event.get("value"):
            return None  # what came before belongs to a ticket already filed
        if event.get("event") == "user":
            ranked = context.ranked_event_types(event.get("parse_data") or {})
            if ranked and ranked[0][1] >= GUESS_MIN_CONFIDENCE:
                return ranked[0][0]
    return None


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                   filed_response: str = "utter_handoff") -> List[EventType]:
    """The conversation goes to a person as a needs_operator ticket with the transcript, the
    place, the photos and the shared location it had; `filed_response` says so."""
    text = context.transcript(tracker, context.text_of(domain, "utter_fragment_transcript_resident"),
                              context.text_of(domain, "utter_fragment_transcript_bot"))
    payload: Dict[str, Any] = {
        "text": text or context.latest_text(tracker) or "-",
        "channel": context.backend_channel(tracker),
        "event_type": type_guess(tracker),
        "needs_operator": True,
        "reporter": reporter(tracker),
    }
    if tracker.get_slot("location"):
        payload["location_text"] = tracker.get_slot("location")
    attachments = list(tracker.get_slot("attachments") or []) + list(tracker.get_slot("pending_attachments") or [])
    if attachments:
        payload["attachments"] = attachments[:MAX_ATTACHMENTS]
    coordinates = tracker.get_slot("coordinates") or tracker.get_slot("pending_coordinates")
    if isinstance(coordinates, dict) and coordinates.get("latitude") is not None:
        payload["latitude"], payload["longitude"] = float(coordinates["latitude"]), float(coordinates["longitude"])
    # one hand-off per request: the key is the conversation and the message that asked for it
    stamp = ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            stamp = str(event.get("timestamp") or "")
            break
    key = idempotency_key("handoff", tracker.sender_id, stamp)
    filing = await file_ticket(tracker, payload, key, "handoff")
    if filing.status == "filed":
        ticket = filing.ticket or {}
        dispatcher.utter_message(response=filed_response, number=ticket.get("number", ""),
                                 department=department_name(ticket), deadline=deadline_text(domain, ticket))
        events: List[EventType] = [SlotSet("ticket_number", ticket.get("number"))]
    elif filing.status == "queued":
        dispatcher.utter_message(response="utter_handoff_queued")
        events = []
    else:
        dispatcher.utter_message(response="utter_handoff_failed")
        events = []
    return events + [SlotSet(n, None) for n in REPORT_SLOTS] + [SlotSet("fallback_count", 0.0)]


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return await hand_off(dispatcher, tracker, domain)


class ActionClarify(Action):
    """Low confidence or out of scope."""

    def name(self) -> Text:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        failures = int(tracker.get_slot("fallback_count") or 0) + 1
        if failures >= MAX_FAILURES:
            dispatcher.utter_message(response="utter_handoff_after_failures")
            return await hand_off(dispatcher, tracker, domain)
        message = tracker.latest_message or {}
        intent, _ = context.latest_intent(tracker)
        top = context.ranked_event_types(message)[:2]
        catalog = load_catalog()
        if len(top) < 2:  # fill up from the catalogue order (never happens with a full ranking)
            top += [(c, 0.0) for c in catalog.codes if c not in dict(top)][: 2 - len(top)]
        (first, _), (second, _) = top[0], top[1]
        response = "utter_clarify_out_of_scope" if intent == "out_of_scope" else "utter_clarify"
        dispatcher.utter_message(response=response, first_name=catalog[first].name, first_code=first,
                                 second_name=catalog[second].name, second_code=second)
        text = context.latest_text(tracker)
        events: List[EventType] = [SlotSet("fallback_count", float(failures))]
        if text and not context.is_payload(text):
            pending = tracker.get_slot("pending_text")
            events += [SlotSet("pending_text", f"{pending}\n{text}" if pending else text),
                       SlotSet("pending_entities", list(tracker.get_slot("pending_entities") or []) +
                               list(message.get("entities") or []))]
        return events
