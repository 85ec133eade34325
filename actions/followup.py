"""After the ticket: status (with or without the number), add information or a photo, urge,
rate after resolution, reopen if not solved. Every call goes through the backend's reporter
endpoints with the proof they require: the channel identity of this conversation, plus the last
four digits of the phone number given in this conversation when there is one.

Which ticket: the number in the message, else the one this conversation last filed or talked
about (slot ``ticket_number``), else the reporter's recent tickets by channel identity — the one
whose type the message names ("我上周反映的噪音问题…"), or the latest one the action applies to.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context
from actions.backend_client import BackendClient, BackendRejected, BackendUnavailable, idempotency_key
from actions.filing import attachments_from, department_name

# Input patterns (what residents write), not replies.
_RATING_DIGIT = re.compile(r"([1-5])\s*(?:分|星)")
_RATING_WORDS: Tuple[Tuple[re.Pattern, int], ...] = (
    (re.compile(r"非常不满意|很不满意|特别不满意|差评|太差"), 1),
    (re.compile(r"不太满意|不满意|不满"), 2),
    (re.compile(r"一般|还行|凑合"), 3),
    (re.compile(r"基本满意|比较满意|还算满意"), 4),
    (re.compile(r"非常满意|很满意|满意|好评|满分|五星"), 5),
)
_SUPPLEMENT_PREFIX = re.compile(
    r"^\s*(?:对了[，,]?\s*)?(?:我)?(?:想|要)?(?:再)?(?:补充|加|说)(?:一下|一点|下|说明|一条)?(?:情况|内容|材料)?"
    r"(?:[:：，,。\s]+|$)")
_QUESTION = re.compile(r"[吗？?]|怎么|如何|可以.*吗")
SUPPLEMENT_MIN_CHARS = 4


def parse_rating(text: str) -> Optional[int]:
    match = _RATING_DIGIT.search(text)
    if match:
        return int(match.group(1))
    stripped = text.strip()
    if stripped in {"1", "2", "3", "4", "5"}:
        return int(stripped)
    for pattern, value in _RATING_WORDS:
        if pattern.search(text):
            return value
    return None


def _numbers_in(tracker: Tracker) -> List[str]:
    found = context.entity_values(tracker.latest_message or {}, "ticket_number")
    found += [n for n in context.TICKET_NUMBER.findall(context.latest_text(tracker)) if n not in found]
    return found


def _proof(tracker: Tracker) -> Tuple[Optional[str], Optional[str]]:
    return context.channel_identity(tracker), context.phone_tail(tracker.get_slot("phone"))


def _write_key(kind: str, tracker: Tracker, number: str) -> str:
    stamp = ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            stamp = str(event.get("timestamp") or "")
            break
    return idempotency_key(kind, tracker.sender_id, number, stamp)


def _mentions_type(text: str, ticket: Dict[str, Any]) -> bool:
    name = str(ticket.get("event_type_name") or "")
    return any(name[i:i + 2] in text for i in range(len(name) - 1))


async def find_ticket(tracker: Tracker, client: BackendClient,
                      applies: Callable[[Dict[str, Any]], bool] = lambda t: True
                      ) -> Tuple[Optional[Dict[str, Any]], str]:
    """(the reporter's view of the ticket, how it was found: number | slot | list | none | not_found)."""
    identity, tail = _proof(tracker)
    numbers = _numbers_in(tracker)
    if numbers:
        try:
            return await asyncio.to_thread(client.status, numbers[0], identity, tail), "number"
        except BackendRejected:
            return None, "not_found"
    text = context.latest_normalised(tracker)
    remembered = tracker.get_slot("ticket_number")
    tickets: List[Dict[str, Any]] = []
    if identity:
        tickets = await asyncio.to_thread(client.my_tickets, identity, 10)
    named = [t for t in tickets if _mentions_type(text, t)]
    candidates = named or tickets
    if remembered and not named:
        try:
            view = await asyncio.to_thread(client.status, remembered, identity, tail)
            if applies(view):
                return view, "slot"
        except BackendRejected:
            pass
    chosen = next((t for t in candidates if applies(t)), None) or (candidates[0] if candidates else None)
    if chosen is None:
        return None, "none"
    return chosen, "list"


def _deadline_date(domain: DomainDict, view: Dict[str, Any]) -> str:
    raw = view.get("deadline_at")
    if not raw:
        return ""
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return ""
    return context.text_of(domain, "utter_fragment_deadline_date", month=when.month, day=when.day,
                           hour=when.hour, minute=f"{when.minute:02d}")


def _unavailable(dispatcher: CollectingDispatcher) -> List[EventType]:
    dispatcher.utter_message(response="utter_backend_unavailable")
    return []


def _not_found(dispatcher: CollectingDispatcher, how: str) -> List[EventType]:
    dispatcher.utter_message(response="utter_ticket_not_found" if how == "not_found" else "utter_no_tickets")
    return []


class ActionTicketStatus(Action):
    def name(self) -> Text:
        return "action_ticket_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        client = BackendClient()
        try:
            view, how = await find_ticket(tracker, client)
        except BackendUnavailable:
            return _unavailable(dispatcher)
        if view is None:
            return _not_found(dispatcher, how)
        dispatcher.utter_message(
            response="utter_status", number=view["number"], event_name=view.get("event_type_name") or "",
            state=view.get("state_name") or view.get("state"), department=department_name(view),
            deadline=_deadline_date(domain, view))
        if view.get("overdue") and view.get("can_urge"):
            dispatcher.utter_message(response="utter_status_overdue")
        if view.get("state") in ("resolved", "closed") and view.get("resolution"):
            dispatcher.utter_message(response="utter_status_resolution", resolution=view["resolution"])
        if view.get("can_rate"):
            dispatcher.utter_message(response="utter_ask_rating")
        return [SlotSet("ticket_number", view["number"])]


class ActionUrge(Action):
    def name(self) -> Text:
        return "action_urge"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        client = BackendClient()
        identity, tail = _proof(tracker)
        try:
            view, how = await find_ticket(tracker, client, lambda t: bool(t.get("can_urge")))
            if view is None:
                return _not_found(dispatcher, how)
            if not view.get("can_urge"):
                dispatcher.utter_message(response="utter_urge_not_open", number=view["number"],
                                         state=view.get("state_name") or "")
                return [SlotSet("ticket_number", view["number"])]
            out = await asyncio.to_thread(client.urge, view["number"], identity, tail,
                                          context.latest_text(tracker), _write_key("urge", tracker, view["number"]))
        except BackendUnavailable:
            return _unavailable(dispatcher)
        except BackendRejected:
            return _not_found(dispatcher, "not_found")
        dispatcher.utter_message(response="utter_urged", number=out["number"], count=out.get("urge_count") or 1,
                                 department=department_name(out), deadline=_deadline_date(domain, out))
        return [SlotSet("ticket_number", out["number"])]


class ActionRate(Action):
    def name(self) -> Text:
        return "action_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        rating = parse_rating(context.latest_normalised(tracker)) or parse_rating(context.latest_text(tracker))
        if rating is None:
            dispatcher.utter_message(response="utter_ask_rating")
            return []
        client = BackendClient()
        identity, tail = _proof(tracker)
        try:
            view, how = await find_ticket(tracker, client, lambda t: bool(t.get("can_rate")))
            if view is None:
                return _not_found(dispatcher, how)
            if not view.get("can_rate"):
                response = "utter_rate_already" if view.get("rating") else "utter_rate_not_yet"
                dispatcher.utter_message(response=response, number=view["number"], state=view.get("state_name") or "")
                return [SlotSet("ticket_number", view["number"])]
            out = await asyncio.to_thread(client.rate, view["number"], identity, tail, rating,
                                          context.latest_text(tracker), _write_key("rate", tracker, view["number"]))
        except BackendUnavailable:
            return _unavailable(dispatcher)
        except BackendRejected as exc:
            if exc.code == "already_rated":
                dispatcher.utter_message(response="utter_rate_already", number=view["number"] if view else "")
                return []
            return _not_found(dispatcher, "not_found")
        dispatcher.utter_message(response="utter_rated", number=out["number"], rating=rating)
        if rating <= 2:
            dispatcher.utter_message(response="utter_rated_low")
        return [SlotSet("ticket_number", out["number"])]


class ActionReopen(Action):
    def name(self) -> Text:
        return "action_reopen"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        client = BackendClient()
        identity, tail = _proof(tracker)
        try:
            view, how = await find_ticket(tracker, client, lambda t: bool(t.get("can_reopen")))
            if view is None:
                return _not_found(dispatcher, how)
            if not view.get("can_reopen"):
                if view.get("can_urge"):
                    dispatcher.utter_message(response="utter_reopen_still_open", number=view["number"],
                                             state=view.get("state_name") or "")
                else:
                    dispatcher.utter_message(response="utter_reopen_not_possible", number=view["number"])
                return [SlotSet("ticket_number", view["number"])]
            out = await asyncio.to_thread(client.reopen, view["number"], identity, tail,
                                          context.latest_text(tracker), _write_key("reopen", tracker, view["number"]))
        except BackendUnavailable:
            return _unavailable(dispatcher)
        except BackendRejected:
            return _not_found(dispatcher, "not_found")
        dispatcher.utter_message(response="utter_reopened", number=out["number"], department=department_name(out))
        return [SlotSet("ticket_number", out["number"])]


# --------------------------------------------------------------------------- add information
def supplement_content(text: str) -> str:
    """The message without its "我想补充一下" opening."""
    return _SUPPLEMENT_PREFIX.sub("", text, count=1).strip()


class ValidateSupplementForm(FormValidationAction):
    """The supplement itself: taken from the message that asked to add something when it says
    something, else asked for (text, or a photo through the channel)."""

    def name(self) -> Text:
        return "validate_supplement_form"

    def extract_supplement_text(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> Dict[Text, Any]:
        text = context.latest_text(tracker)
        has_files = bool(attachments_from(context.latest_metadata(tracker)))
        intent, _ = context.latest_intent(tracker)
        if tracker.get_slot("requested_slot") == "supplement_text":
            if intent in ("request_human", "goodbye"):
                return {}
            return {"supplement_text": text or ("-" if has_files else "")} if (text or has_files) else {}
        content = supplement_content(text)
        if has_files or (len(content) >= SUPPLEMENT_MIN_CHARS and not _QUESTION.search(content)):
            return {"supplement_text": content or "-"}
        return {}

    def validate_supplement_text(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> Dict[Text, Any]:
        files = attachments_from(context.latest_metadata(tracker))
        if not str(value or "").strip() and not files:
            return {"supplement_text": None}
        return {"supplement_text": str(value).strip(), "supplement_files": files}


class ActionAddInformation(Action):
    def name(self) -> Text:
        return "action_add_information"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        text = tracker.get_slot("supplement_text")
        files = list(tracker.get_slot("supplement_files") or [])
        reset: List[EventType] = [SlotSet("supplement_text", None), SlotSet("supplement_files", None)]
        if text == "-":
            text = None
        if not text and not files:
            return reset
        client = BackendClient()
        identity, tail = _proof(tracker)
        try:
            view, how = await find_ticket(tracker, client, lambda t: t.get("state") not in ("closed", "merged"))
            if view is None:
                _not_found(dispatcher, how)
                return reset
            digest = hashlib.sha256(f"{text}|{files}".encode("utf-8")).hexdigest()[:16]
            out = await asyncio.to_thread(client.supplement, view["number"], identity, tail, text, files,
                                          _write_key("supplement", tracker, view["number"] + digest))
        except BackendUnavailable:
            _unavailable(dispatcher)
            return reset
        except BackendRejected:
            dispatcher.utter_message(response="utter_supplement_refused")
            return reset
        dispatcher.utter_message(response="utter_supplement_added", number=out["number"], files=len(files))
        return reset + [SlotSet("ticket_number", out["number"])]
