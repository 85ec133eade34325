"""The read-back of a report and free-text corrections.

  report_form done → action_read_back (summary with 确认 / 修改; a grid worker's offers 格内解决)
  → "确认" → action_submit_report (actions.submit) | "不对，是在幸福小区东门" → action_correct_report
An emergency is not read back: it is filed as soon as the place is known.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import context, staff as staff_module
from actions.report_slots import contact_text, details_text, slots_from_message, staff_place
from actions.staff_commands import on_spot_sentence
from routing.catalog import load_catalog


def correction_events(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
                      allow_type_change: bool = False) -> List[EventType]:
    """Slot changes a correction message names; nothing else changes."""
    message = tracker.latest_message or {}
    intent, confidence = context.latest_intent(tracker)
    changes = slots_from_message(message)
    staff = staff_module.profile(tracker)
    if staff and changes.get("location"):
        changes.update(staff_place(staff, changes))
    if intent == "stay_anonymous":
        changes.update({"anonymous": True, "phone": None})
    if not changes and intent == "inform" and tracker.get_slot("stage") == "confirm":
        # a bare place ("幸福小区东门") the extractor did not mark
        res = context.resolution(message)
        if res:
            changes.update({"location": context.latest_text(tracker), "region_code": str(res["adcode"])})
    catalog = load_catalog()
    if (allow_type_change and not changes and intent in catalog and intent != tracker.get_slot("event_type")
            and confidence >= 0.8 and not catalog[intent].emergency):
        # "不是噪音，是油烟": a different type; the form then asks what that type needs
        changes.update({"event_type": intent, "event_confidence": round(confidence, 4),
                        "report_text": f"{tracker.get_slot('report_text') or ''}\n{context.latest_text(tracker)}".strip(),
                        "urgent": bool(catalog[intent].urgent)})
    return [SlotSet(k, v) for k, v in changes.items()]

def read_back(dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict,
              slots: Optional[Dict[str, Any]] = None) -> None:
    """The summary with 确认 / 修改 buttons. `slots` overrides values not yet in the tracker."""
    view = _SlotView(tracker, slots or {})
    details = details_text(domain, view)  # type: ignore[arg-type]
    if staff_module.profile(tracker):
        staff_read_back(dispatcher, view, details)
        return
    contact = contact_text(domain, view)  # type: ignore[arg-type]
    sep = context.text_of(domain, "utter_fragment_separator")
    body = sep.join(p for p in (details, contact) if p)
    dispatcher.utter_message(response="utter_summary", event_name=context.event_name(view.get_slot("event_type")) or "",
                             details=body)


def staff_read_back(dispatcher: CollectingDispatcher, view: "_SlotView", details: str) -> None:
    """上报 or 格内解决; when the report says it was handled on the spot, 格内解决 comes first."""
    event_name = context.event_name(view.get_slot("event_type")) or ""
    note = on_spot_sentence(view.get_slot("report_text") or "")
    if note:
        dispatcher.utter_message(response="utter_staff_summary_on_spot", event_name=event_name, details=details,
                                 note=note)
    else:
        dispatcher.utter_message(response="utter_staff_summary", event_name=event_name, details=details)

class _SlotView:
    """A tracker's slots with some values overridden (events not applied yet)."""

    def __init__(self, tracker: Tracker, overrides: Dict[str, Any]):
        self._tracker = tracker
        self._overrides = overrides

    def get_slot(self, key: str) -> Any:
        if key in self._overrides:
            return self._overrides[key]
        return self._tracker.get_slot(key)


class ActionReadBack(Action):
    """After the form: read the summary back and wait for 确认 or a correction. An emergency is
    filed at once instead."""

    def name(self) -> Text:
        return "action_read_back"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        et = load_catalog().get(tracker.get_slot("event_type") or "")
        if et is not None and et.emergency:
            from actions.submit import submit_report

            return await submit_report(dispatcher, tracker, domain)
        read_back(dispatcher, tracker, domain)
        return [SlotSet("stage", "confirm")]


class ActionCorrectReport(Action):
    """In the read-back stage: "不对，是在幸福小区东门" replaces just the place; a bare "不对" asks
    what to change."""

    def name(self) -> Text:
        return "action_correct_report"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        events = correction_events(dispatcher, tracker, domain)
        if not events:
            dispatcher.utter_message(response="utter_ask_correction")
            return [SlotSet("stage", "confirm")]
        changes = {e["name"]: e["value"] for e in events}
        read_back(dispatcher, tracker, domain, changes)
        return events + [SlotSet("stage", "confirm")]
