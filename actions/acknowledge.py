"""Tell the resident what the bot understood of their report."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from routing.catalog import load_catalog


def _entity_values(tracker: Tracker, entity: str) -> List[str]:
    values = []
    for item in tracker.latest_message.get("entities") or []:
        if item.get("entity") == entity and item.get("value") not in values:
            values.append(str(item.get("value")))
    return values


class ActionAcknowledgeReport(Action):
    """States the event type, the responsible department, the place and the other party."""

    def name(self) -> Text:
        return "action_acknowledge_report"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        event_type = load_catalog().get(intent or "")
        if event_type is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        dispatcher.utter_message(
            response="utter_report_understood",
            event_name=event_type.name,
            department=event_type.department,
        )
        places = _entity_values(tracker, "location")
        if places:
            dispatcher.utter_message(response="utter_report_place", place="、".join(places))
        else:
            dispatcher.utter_message(response="utter_ask_place")
        parties = _entity_values(tracker, "party")
        if parties:
            dispatcher.utter_message(response="utter_report_party", party="、".join(parties))
        return []
