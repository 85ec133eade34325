"""The greeting: a grid worker is greeted by name and grid (and learns the staff commands);
everyone else gets the residents' greeting."""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import staff as staff_module


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        staff, events = await staff_module.recognise(tracker)
        if staff:
            grid, _ = staff_module.default_grid(staff)
            dispatcher.utter_message(response="utter_staff_greet", name=staff.get("name") or "", grid=grid or "")
        else:
            dispatcher.utter_message(response="utter_greet")
        return events
