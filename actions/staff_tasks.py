"""我的待办 and the commands a grid worker works a ticket of their grid with.

Flow (bot/data/staff_rules.yml):
  staff_todo → action_staff_todo (the list, numbered; buttons 接单 / 办结 for the first rows)
  staff_accept | staff_progress | staff_resolve | staff_escalate | resolve_on_spot
    → action_staff_prepare (which ticket, the note written with the command)
    → staff_task_form (asks only what is missing: which ticket, the note / reply / reason)
    → action_staff_apply (the backend's /api/staff/by-identity/…/tickets/{number}/{action};
      格内解决 files the pending report with resolve_on_spot, actions.submit)

Which ticket: a number in the message (or the button's entity); else a list index ("办结 2") in
the last 我的待办 list; else the only open ticket of the grid, or the one the conversation talked
about last if it is on the list; else the form asks. A resident whose words the NLU took for one
of these commands gets their own follow-up when it is the runner-up (reopen, status, urge,
rate), else the clarifying question (actions.fallback): the commands exist only for staff.
"""
from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, staff as staff_module, staff_commands
from actions.backend_client import BackendClient, BackendRejected, BackendUnavailable
from actions.fallback import ActionClarify
from actions.filing import deadline_text, department_name
from actions.followup import ActionRate, ActionReopen, ActionTicketStatus, ActionUrge
from actions.intake import STAFF_INTENTS
from actions.submit import submit_report
from routing.lifecycle import STATE_NAMES

ON_SPOT = "on_spot"
INTENT_ACTIONS = {"staff_accept": "accept", "staff_progress": "progress", "staff_resolve": "resolve",
                  "staff_escalate": "escalate", "resolve_on_spot": ON_SPOT}
NOTE_FIELDS = {"progress": "note", "resolve": "reply", "escalate": "reason"}
DONE_RESPONSES = {"accept": "utter_staff_accepted", "progress": "utter_staff_progress_saved",
                  "resolve": "utter_staff_resolved", "escalate": "utter_staff_escalated"}
# a ticket must be accepted before progress or a reply; a worker who reports either has taken it
ACCEPT_FIRST = {"progress", "resolve"}
TASK_SLOTS = ("staff_action", "staff_ticket", "staff_note")
# a resident's follow-up intents, their actions (bot/data/rules.yml) and the runner-up confidence
# each needs when the NLU took the words for a staff command: a status answer reads, the others
# change a ticket and want more certainty
RESIDENT_FOLLOW_UPS = {"ask_status": (ActionTicketStatus, 0.1), "reopen": (ActionReopen, 0.3),
                       "urge": (ActionUrge, 0.3), "rate_satisfaction": (ActionRate, 0.3)}
# not an answer to the form's question: the list, leaving; another command only when it is worded as
# one ("办结 3 已清运") — a note like "已联系运维把单车挪走" may well be classified as a command
ESCAPE_INTENTS = {"goodbye", "request_human", "greet", "staff_todo"}
TODO_FETCH = 50   # rows asked of the backend
TODO_SHOWN = 10   # rows written in one message
BUTTON_ROWS = 5   # rows that get a button
MIN_NOTE_CHARS = 2


def _reset() -> List[EventType]:
    return [SlotSet(name, None) for name in TASK_SLOTS]


def _date(domain: DomainDict, iso: Optional[str]) -> str:
    try:
        when = datetime.fromisoformat(iso or "")
    except ValueError:
        return ""
    return context.text_of(domain, "utter_fragment_staff_date", month=when.month, day=when.day,
                           hour=when.hour, minute=f"{when.minute:02d}")


def todo_row(domain: DomainDict, index: int, item: Dict[str, Any]) -> str:
    if item.get("overdue"):
        flag = context.text_of(domain, "utter_fragment_staff_overdue")
    elif item.get("warning") in ("yellow", "red"):
        flag = context.text_of(domain, "utter_fragment_staff_due_soon")
    else:
        flag = ""
    region = item.get("region") or {}
    return context.text_of(
        domain, "utter_fragment_staff_todo_row", index=index, number=item.get("number", ""),
        event_name=item.get("event_type_name") or context.text_of(domain, "utter_fragment_staff_no_type"),
        place=item.get("location_text") or region.get("name") or "", state=item.get("state_name") or "",
        deadline=_date(domain, item.get("deadline_at")), flag=flag)


def todo_button(domain: DomainDict, index: int, item: Dict[str, Any]) -> Optional[Dict[str, str]]:
    """接单 for a ticket waiting to be taken, 办结 for one in hand (the payload names the ticket)."""
    number = item.get("number")
    if item.get("state") in ("dispatched", "escalated"):
        intent, title = "staff_accept", "utter_fragment_staff_button_accept"
    elif item.get("state") == "in_progress":
        intent, title = "staff_resolve", "utter_fragment_staff_button_resolve"
    else:
        return None
    return {"title": context.text_of(domain, title, index=index),
            "payload": f'/{intent}{{"ticket_number":"{number}"}}'}


async def _todo(identity: str) -> List[Dict[str, Any]]:
    result = await asyncio.to_thread(BackendClient().staff_todo, identity, TODO_FETCH)
    return list(result.get("items") or [])


class ActionStaffTodo(Action):
    """我的待办: the open tickets of the worker's grid, soonest deadline first."""

    def name(self) -> Text:
        return "action_staff_todo"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        staff, events = await staff_module.recognise(tracker)
        identity = context.channel_identity(tracker)
        if staff_module.unknown(tracker, events):
            dispatcher.utter_message(response="utter_backend_unavailable")
            return events
        if not staff or not identity:
            dispatcher.utter_message(response="utter_staff_only")
            return events
        try:
            items = await _todo(identity)
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return events
        except BackendRejected:  # deregistered since the session started
            dispatcher.utter_message(response="utter_staff_only")
            return events + [SlotSet("staff", None)]
        if not items:
            dispatcher.utter_message(response="utter_staff_todo_empty")
            return events + [SlotSet("staff_list", [])]
        shown = items[:TODO_SHOWN]
        rows = "\n".join(todo_row(domain, i, item) for i, item in enumerate(shown, 1))
        buttons = [b for i, item in enumerate(shown[:BUTTON_ROWS], 1) if (b := todo_button(domain, i, item))]
        dispatcher.utter_message(response="utter_staff_todo", count=len(items), rows=rows, buttons=buttons)
        if len(items) > TODO_SHOWN:
            dispatcher.utter_message(response="utter_staff_todo_more", more=len(items) - TODO_SHOWN)
        return events + [SlotSet("staff_list", [item["number"] for item in shown])]


def _named_ticket(tracker: Tracker, command: staff_commands.Command) -> Optional[str]:
    """A button's ticket (its payload's entity), else the number or list index of the command —
    never a number the NLU found inside the note."""
    if context.is_payload(context.latest_text(tracker)):
        found = context.entity_values(tracker.latest_message or {}, "ticket_number")
        return found[0] if found else None
    return command.number or staff_commands.pick(list(tracker.get_slot("staff_list") or []), command.index)


class ActionStaffPrepare(Action):
    """Reads the command: which action, which ticket, and the note written with it."""

    def name(self) -> Text:
        return "action_staff_prepare"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        staff, events = await staff_module.recognise(tracker)
        intent, _ = context.latest_intent(tracker)
        action = INTENT_ACTIONS.get(intent or "")
        if staff_module.unknown(tracker, events):  # a worker's command must not be read as a resident's
            dispatcher.utter_message(response="utter_backend_unavailable")
            return events + _reset()
        if not staff or action is None:
            return events + _reset() + await self._not_staff(dispatcher, tracker, domain)
        text = context.latest_text(tracker)
        command = staff_commands.parse("" if context.is_payload(text) else text)
        if action == ON_SPOT:
            if not tracker.get_slot("event_type"):
                dispatcher.utter_message(response="utter_staff_no_report")
                return events + _reset()
            note = command.note or staff_commands.on_spot_sentence(tracker.get_slot("report_text") or "")
            return events + _reset() + [SlotSet("staff_action", ON_SPOT), SlotSet("staff_note", note)]
        number = _named_ticket(tracker, command)
        if number is None and command.index is None:
            number, listed = await self._implied(tracker)
            events += listed
        return events + [SlotSet("staff_action", action), SlotSet("staff_ticket", number),
                         SlotSet("staff_note", command.note if action in NOTE_FIELDS else None)]

    @staticmethod
    async def _not_staff(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        """A resident's words the NLU took for a staff command ("说是办结了，其实没处理" read as
        办结): the resident's own follow-up when it is the runner-up, else the clarifying question."""
        for item in (tracker.latest_message or {}).get("intent_ranking") or []:
            name, confidence = item.get("name"), float(item.get("confidence") or 0.0)
            if name in STAFF_INTENTS:
                continue
            follow_up = RESIDENT_FOLLOW_UPS.get(name or "")
            if follow_up is not None and confidence >= follow_up[1]:
                return await follow_up[0]().run(dispatcher, tracker, domain)
            break
        return await ActionClarify().run(dispatcher, tracker, domain)

    @staticmethod
    async def _implied(tracker: Tracker) -> "tuple[Optional[str], List[EventType]]":
        """No ticket named: the only open one, or the one talked about last if it is open."""
        identity = context.channel_identity(tracker)
        if not identity:
            return None, []
        try:
            numbers = [item["number"] for item in await _todo(identity)]
        except (BackendUnavailable, BackendRejected):
            return None, []
        events: List[EventType] = [] if tracker.get_slot("staff_list") else [SlotSet("staff_list", numbers[:TODO_SHOWN])]
        if len(numbers) == 1:
            return numbers[0], events
        remembered = tracker.get_slot("ticket_number")
        return (remembered if remembered in numbers else None), events


class ValidateStaffTaskForm(FormValidationAction):
    """Asks for the ticket (number or list index) and the note the action needs, nothing else."""

    def name(self) -> Text:
        return "validate_staff_task_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        action = tracker.get_slot("staff_action")
        if not action:
            return []
        if action == ON_SPOT:
            return ["staff_note"]
        return ["staff_ticket", "staff_note"] if action in NOTE_FIELDS else ["staff_ticket"]

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Optional[EventType]:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None))

    @staticmethod
    def _answer(tracker: Tracker, slot: str) -> Optional[str]:
        intent, _ = context.latest_intent(tracker)
        text = context.latest_text(tracker)
        if tracker.get_slot("requested_slot") != slot or intent in ESCAPE_INTENTS or not text:
            return None
        if intent in STAFF_INTENTS and staff_commands.looks_like_command(text):
            return None
        return text

    def extract_staff_ticket(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> Dict[Text, Any]:
        text = self._answer(tracker, "staff_ticket")
        if text is None:
            return {}
        found = _named_ticket(tracker, staff_commands.parse("" if context.is_payload(text) else text))
        return {"staff_ticket": found or text}

    def validate_staff_ticket(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        if value and context.TICKET_NUMBER.fullmatch(str(value)):
            return {"staff_ticket": str(value)}
        dispatcher.utter_message(response="utter_staff_ticket_unknown")
        return {"staff_ticket": None}

    def extract_staff_note(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        text = self._answer(tracker, "staff_note")
        if text is None or context.is_payload(text):
            return {}
        return {"staff_note": text}

    def validate_staff_note(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "").strip()
        return {"staff_note": text if len(text) >= MIN_NOTE_CHARS else None}


class ActionAskStaffNote(Action):
    """The note's question depends on the action: progress, the reply, the reason, the disposal."""

    def name(self) -> Text:
        return "action_ask_staff_note"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response=f"utter_staff_ask_{tracker.get_slot('staff_action') or 'progress'}")
        return []


def _act(identity: str, number: str, action: str, note: Optional[str]) -> Dict[str, Any]:
    client = BackendClient()
    body = {NOTE_FIELDS[action]: note} if action in NOTE_FIELDS and note else {}
    try:
        return client.staff_act(identity, number, action, body)
    except BackendRejected as exc:
        if not (action in ACCEPT_FIRST and exc.code == "illegal_transition"
                and exc.details.get("state") == "dispatched"):
            raise
    client.staff_act(identity, number, "accept", {})
    return client.staff_act(identity, number, action, body)


class ActionStaffApply(Action):
    """Does what the command asked, through the backend, and says what happened in one line."""

    def name(self) -> Text:
        return "action_staff_apply"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        action = tracker.get_slot("staff_action")
        number = tracker.get_slot("staff_ticket")
        note = tracker.get_slot("staff_note")
        identity = context.channel_identity(tracker)
        if not action or not staff_module.profile(tracker) or not identity:
            return _reset()
        if action == ON_SPOT:
            return await submit_report(dispatcher, tracker, domain, on_spot_note=note) + _reset()
        try:
            ticket = await asyncio.to_thread(_act, identity, number, action, note)
        except BackendRejected as exc:
            self._refused(dispatcher, number, exc)
            return _reset()
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_staff_failed")
            return _reset()
        dispatcher.utter_message(response=DONE_RESPONSES[action], number=number,
                                 deadline=deadline_text(domain, ticket), department=department_name(ticket))
        return _reset() + [SlotSet("ticket_number", number)]

    @staticmethod
    def _refused(dispatcher: CollectingDispatcher, number: str, exc: BackendRejected) -> None:
        if exc.status == 404:
            dispatcher.utter_message(response="utter_staff_not_theirs", number=number)
        elif exc.code == "assist_tasks_open":
            dispatcher.utter_message(response="utter_staff_assists_open", number=number)
        elif exc.code == "illegal_transition":
            state = str(exc.details.get("state") or "")
            dispatcher.utter_message(response="utter_staff_refused", number=number,
                                     state=STATE_NAMES.get(state, state))
        else:
            dispatcher.utter_message(response="utter_staff_failed")
