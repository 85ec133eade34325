"""The report: what the bot understood, and the form that asks only for what is missing.

A recognised grid worker (actions.staff) gets the same flow, terser: their grid is the place
unless they name one, no time / phone / anonymity questions, and the read-back offers 格内解决.

Flow (bot/data/intake.yml, bot/data/events_rules.yml):
  <event intent> → [utter_emergency_numbers] → action_start_report → report_form → action_read_back
  (actions.read_back) → "确认" → action_submit_report (actions.submit)
"""
from __future__ import annotations

import hashlib
import logging
import re
from typing import Any, Dict, List, Optional, Text

import httpx
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, settings as settings_module, staff as staff_module
from actions.filing import UNKNOWN, attachments_from
from actions.read_back import correction_events
from actions.report_slots import (MAX_ATTACHMENTS, REPORT_SLOTS, adcode, best_location, coordinates_of, details_text,
                                  slots_from_message, staff_place)
from routing.catalog import load_catalog

logger = logging.getLogger(__name__)

FORM = "report_form"
FORM_SLOTS = ("location", "party", "incident_time", "phone")
ANONYMOUS = "__anonymous__"
# Intents that are not an answer to the form's question: the form lets other rules handle them.
ESCAPE_INTENTS = {"request_human", "goodbye", "ask_status", "urge", "reopen", "rate_satisfaction",
                  "EXTERNAL_ticket_filed"}
STAFF_INTENTS = {"staff_todo", "staff_accept", "staff_progress", "staff_resolve", "staff_escalate",
                 "resolve_on_spot"}
# what may surround a phone number that is only a number: digits, blanks, +86, dashes, labels
_NUMBER_LABELS = re.compile(r"[\d\s+\-–—,，.。:：()（）]|电话|手机|号码|號碼|联系|聯繫|是|我的|打")
NOT_A_PLACE_INTENTS = {"deny", "affirm", "greet", "thanks", "out_of_scope", "stay_anonymous"}
# Connectives that start another problem in the same message (multi-issue detection).
_SPLIT = re.compile(r"(?:另外|还有就是|还有一个|还有|此外|同时|以及|顺便|再有|；|;|。)")
MULTI_MIN_CONFIDENCE = 0.5
RANKING_MIN_CONFIDENCE = 0.1
def _report_id(tracker: Tracker) -> str:
    """Stable for this report: the conversation + the timestamp of the message that started it."""
    stamp = ""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            stamp = str(event.get("timestamp") or event.get("message_id") or "")
            break
    raw = f"{tracker.sender_id}|{stamp}|{context.latest_text(tracker)}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:20]

async def other_issues(text: str, main: str, message: Dict[str, Any]) -> List[str]:
    """Event types of other problems named in the same message (codes, main excluded).

    The message is cut at connectives (另外, 还有, ；…); with ``RASA_URL`` each part is classified
    by the rasa server's /model/parse. Without it, a runner-up type in the ranking counts when
    the message has such a connective."""
    parts = [p.strip(" ，,。") for p in _SPLIT.split(text) if len(p.strip(" ，,。")) >= 4]
    if len(parts) < 2:
        return []
    catalog = load_catalog()
    found: List[str] = []
    rasa_url = settings_module.load().rasa_url
    if rasa_url:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                for part in parts:
                    res = (await client.post(f"{rasa_url}/model/parse", json={"text": part})).json()
                    intent = (res.get("intent") or {})
                    name, conf = intent.get("name"), float(intent.get("confidence") or 0)
                    if name in catalog and name != main and conf >= MULTI_MIN_CONFIDENCE and name not in found:
                        found.append(name)
            return found
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("multi-issue parse failed, using the ranking: %s", exc)
    for name, conf in context.ranked_event_types(message, exclude=[main])[:1]:
        if conf >= RANKING_MIN_CONFIDENCE:
            found.append(name)
    return found

class ActionStartReport(Action):
    """A problem was described: remember it, say what was understood, let the form ask the rest.

    In the read-back stage a message with a type is a correction instead (only what it names
    changes)."""

    def name(self) -> Text:
        return "action_start_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, _ = context.latest_intent(tracker)
        emergency = (load_catalog().get(intent or "") or None)
        if (tracker.get_slot("stage") == "confirm" and tracker.get_slot("event_type")
                and not (emergency is not None and emergency.emergency)):
            return correction_events(dispatcher, tracker, domain, allow_type_change=True) + [
                SlotSet("stage", None), SlotSet("requested_slot", None)]
        return await self._new_report(dispatcher, tracker, domain)

    async def _new_report(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> List[EventType]:
        catalog = load_catalog()
        message = dict(tracker.latest_message or {})
        intent, confidence = context.latest_intent(tracker)
        text = context.latest_text(tracker)
        normalised = context.latest_normalised(tracker)
        pending = tracker.get_slot("pending_text")
        pending_entities = list(tracker.get_slot("pending_entities") or [])
        if context.is_payload(text):
            # a button press (clarifying question): the report is what was written before
            text = normalised = pending or ""
            message["entities"] = pending_entities
            message["location_resolution"] = None
        else:
            # several messages (an unclear one, a shared location, a photo, then the problem)
            # describe the same report
            if pending:
                text, normalised = f"{pending}\n{text}", f"{pending}\n{normalised}"
            message["entities"] = pending_entities + list(message.get("entities") or [])
        event_type = catalog[intent] if intent in catalog else None
        if event_type is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        staff, events = await staff_module.recognise(tracker)
        filled = slots_from_message(message)
        if staff:
            filled.update(staff_place(staff, filled))
        elif not filled.get("phone") and context.channel_phone(tracker):
            filled["phone"] = context.channel_phone(tracker)
        events += [SlotSet(name, None) for name in REPORT_SLOTS]
        events += [
            SlotSet("event_type", event_type.code),
            SlotSet("event_confidence", round(confidence, 4)),
            SlotSet("report_text", text),
            SlotSet("report_normalised", normalised),
            SlotSet("report_id", _report_id(tracker)),
            SlotSet("urgent", bool(event_type.urgent or event_type.emergency)),
            SlotSet("coordinates", coordinates_of(tracker) or tracker.get_slot("pending_coordinates")),
            SlotSet("attachments", (list(tracker.get_slot("pending_attachments") or []) +
                                    attachments_from(context.latest_metadata(tracker)))[:MAX_ATTACHMENTS]),
            SlotSet("fallback_count", 0.0),
        ]
        events += [SlotSet(k, v) for k, v in filled.items()]
        if event_type.emergency:
            # the numbers went out first (rule); now only the place, then the urgent ticket
            dispatcher.utter_message(response="utter_emergency_filing")
            return events
        if staff:
            return events  # terse: the read-back says what was understood
        values = {k: filled.get(k) for k in ("location", "party", "incident_time")}
        details = details_text(domain, tracker, values)
        dispatcher.utter_message(response="utter_report_understood", event_name=event_type.name,
                                 department=event_type.department,
                                 details=(context.text_of(domain, "utter_fragment_separator") + details) if details else "")
        others = await other_issues(normalised, event_type.code, message)
        if others:
            names = context.text_of(domain, "utter_fragment_list_separator").join(
                catalog[c].name for c in others)
            dispatcher.utter_message(response="utter_other_issue", other=names, main=event_type.name)
            events.append(SlotSet("other_issues", others))
        return events

def _only_a_number(text: str) -> bool:
    """"13800001111", "电话：138 0000 1111" — nothing but a phone number and its label."""
    return len(_NUMBER_LABELS.sub("", text)) == 0


def escapes(tracker: Tracker, intent: Optional[str]) -> bool:
    """Not an answer to the form's question. A staff command is one only from a grid worker
    ("我的待办" asked mid-report); from a resident the NLU's guess is wrong and the words are the
    answer."""
    return intent in ESCAPE_INTENTS or (intent in STAFF_INTENTS and staff_module.profile(tracker) is not None)


class ValidateReportForm(FormValidationAction):
    """Asks only for what is missing: the place always; the other party when the type needs one;
    when it happened when the type needs it; a phone number unless the resident stays anonymous
    (the question always offers that). An emergency needs only the place."""

    def name(self) -> Text:
        return "validate_report_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        et = load_catalog().get(tracker.get_slot("event_type") or "")
        slots = ["location"]
        if et is not None and et.emergency:
            return slots
        if et is not None and et.needs_party:
            slots.append("party")
        if staff_module.profile(tracker):
            return slots  # a worker on patrol: found now, and never anonymous
        if et is not None and et.needs_time:
            slots.append("incident_time")
        if not tracker.get_slot("anonymous"):
            slots.append("phone")
        return slots

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Optional[EventType]:
        """Always decide here (rasa_sdk leaves it to Rasa when the list equals the domain's)."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None))

    # ------------------------------------------------------------------ extraction
    @staticmethod
    def _answering(tracker: Tracker, slot: str) -> bool:
        intent, confidence = context.latest_intent(tracker)
        if escapes(tracker, intent):
            return False
        et = load_catalog().get(intent or "")
        if et is not None and et.emergency and confidence >= 0.8:
            return False
        return (tracker.get_slot("requested_slot") == slot
                and not ValidateReportForm._answers_another_question(tracker, slot))

    @staticmethod
    def _answers_another_question(tracker: Tracker, slot: str) -> bool:
        """A phone number given when asked something else (the place, the party, the time) is
        the phone, not that answer."""
        if slot == "phone":
            return False
        message = tracker.latest_message or {}
        return bool(context.entity_values(message, "phone")) or \
            context.find_phone(context.latest_text(tracker)) is not None

    @staticmethod
    def _asked(tracker: Tracker) -> bool:
        """True after the form asked something (not at activation)."""
        intent, _ = context.latest_intent(tracker)
        return tracker.get_slot("requested_slot") is not None and not escapes(tracker, intent)

    def extract_location(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if not self._asked(tracker):
            return {}
        found = best_location(context.entity_values(tracker.latest_message, "location"))
        if found:
            return {"location": found}
        if self._answering(tracker, "location"):
            return {"location": context.latest_text(tracker)}
        return {}

    def extract_party(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        if not self._asked(tracker):
            return {}
        found = context.entity_values(tracker.latest_message, "party")
        if found:
            return {"party": "、".join(found)}
        if self._answering(tracker, "party"):
            intent, _ = context.latest_intent(tracker)
            return {"party": UNKNOWN if intent == "deny" else context.latest_text(tracker)}
        return {}

    def extract_incident_time(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> Dict[Text, Any]:
        if not self._asked(tracker):
            return {}
        found = context.entity_values(tracker.latest_message, "time")
        if found:
            return {"incident_time": "，".join(found)}
        if self._answering(tracker, "incident_time"):
            intent, _ = context.latest_intent(tracker)
            return {"incident_time": UNKNOWN if intent == "deny" else context.latest_text(tracker)}
        return {}

    def extract_phone(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Dict[Text, Any]:
        text = context.latest_text(tracker)
        found = context.entity_values(tracker.latest_message, "phone") or \
            ([context.find_phone(text)] if context.find_phone(text) else [])
        if found and tracker.get_slot("requested_slot") == "phone" and _only_a_number(text):
            return {"phone": found[0]}  # a bare number is the answer, whatever intent the NLU gave it
        if not self._asked(tracker):
            return {}
        intent, _ = context.latest_intent(tracker)
        if intent == "stay_anonymous":
            return {"phone": ANONYMOUS}
        if found:
            return {"phone": found[0]}
        if self._answering(tracker, "phone"):
            if intent == "deny":  # "不留了" / "不用" when asked for a number
                return {"phone": ANONYMOUS}
            return {"phone": context.latest_text(tracker)}
        return {}

    # ------------------------------------------------------------------ validation
    def validate_location(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                          domain: DomainDict) -> Dict[Text, Any]:
        if value is None:
            return {"location": None}
        text = str(value).strip()
        intent, _ = context.latest_intent(tracker)
        message = tracker.latest_message or {}
        from_entity = text in context.entity_values(message, "location")
        if not from_entity and (len(text) < 2 or intent in NOT_A_PLACE_INTENTS or context.is_payload(text)):
            dispatcher.utter_message(response="utter_location_unclear")
            return {"location": None}
        out: Dict[str, Any] = {"location": text}
        if staff_module.profile(tracker):
            return out  # the backend places a worker's report (report_slots.staff_place)
        if from_entity or text == context.latest_text(tracker):
            out["region_code"] = adcode(message) or tracker.get_slot("region_code")
        return out

    def validate_party(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if not text or context.is_payload(text):
            return {"party": None}
        return {"party": text}

    def validate_incident_time(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if not text or context.is_payload(text):
            return {"incident_time": None}
        return {"incident_time": text}

    def validate_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> Dict[Text, Any]:
        if value == ANONYMOUS:
            dispatcher.utter_message(response="utter_anonymous_ok")
            return {"phone": None, "anonymous": True}
        phone = context.find_phone(str(value or ""))
        if phone:
            return {"phone": phone, "anonymous": False}
        dispatcher.utter_message(response="utter_phone_invalid")
        return {"phone": None}

class ActionAskParty(Action):
    """The form's question for the other party: the terse one for a grid worker."""

    def name(self) -> Text:
        return "action_ask_party"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        staff = staff_module.profile(tracker)
        dispatcher.utter_message(response="utter_staff_ask_party" if staff else "utter_ask_party")
        return []

class ActionKeepContext(Action):
    """Details before the problem ("在幸福小区", "我要匿名", a shared location, a photo): kept for
    the report that follows, and the resident is asked what happened."""

    def name(self) -> Text:
        return "action_keep_context"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        intent, _ = context.latest_intent(tracker)
        events: List[EventType] = []
        if intent == "stay_anonymous":
            events.append(SlotSet("anonymous", True))
        text = context.latest_text(tracker)
        entities = list((tracker.latest_message or {}).get("entities") or [])
        if intent == "inform":
            if text and not context.is_payload(text):
                pending = tracker.get_slot("pending_text")
                events.append(SlotSet("pending_text", f"{pending}\n{text}" if pending else text))
            if entities:  # a written place, or the place of a shared location (/inform{"location": …})
                events.append(SlotSet("pending_entities", list(tracker.get_slot("pending_entities") or []) + entities))
        coordinates = coordinates_of(tracker)
        if coordinates:
            events.append(SlotSet("pending_coordinates", coordinates))
        attachments = attachments_from(context.latest_metadata(tracker))
        if attachments:
            events.append(SlotSet("pending_attachments",
                                  (list(tracker.get_slot("pending_attachments") or []) + attachments)[:MAX_ATTACHMENTS]))
        dispatcher.utter_message(response="utter_ask_problem")
        return events
