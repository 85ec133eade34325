"""Is the person writing a registered grid worker (网格员)?

The backend keeps the registry (routing/data/grid_staff.yml → ``GET /api/staff/by-identity/…``);
the bot asks once per conversation session, by the channel identity of the conversation
(``telegram:<user id>``, ``sms:+86…``), and keeps the answer in two slots:

- ``staff``: the worker's profile as the backend gave it, or None (a resident);
- ``staff_checked``: True once the backend answered (found or 404). When the backend could not
  be reached the question stays open and the next action that needs it asks again — until then
  the writer is treated as a resident, which costs a staff member a few extra questions and
  never loses a report.

A profile switches the report to the staff flow (actions.intake): terser prompts, the first grid
as the default place, no phone or anonymity question, and 上报 / 格内解决 at the read-back.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import context
from actions.backend_client import BackendClient, BackendError

logger = logging.getLogger(__name__)
LOOKUP_TIMEOUT = 3.0  # seconds: a resident must not wait long for a question about staff


def profile(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The worker's profile when the conversation is known to be a grid worker's."""
    value = tracker.get_slot("staff")
    return value if isinstance(value, dict) and value.get("code") else None


async def recognise(tracker: Tracker) -> Tuple[Optional[Dict[str, Any]], List[EventType]]:
    """(profile or None, slot events to return) — asks the backend unless it already answered."""
    if tracker.get_slot("staff_checked"):
        return profile(tracker), []
    identity = context.channel_identity(tracker)
    if not identity:
        return None, [SlotSet("staff", None), SlotSet("staff_checked", True)]
    client = BackendClient(timeout=LOOKUP_TIMEOUT, retries=0)
    try:
        found = await asyncio.to_thread(client.staff_by_identity, identity, False)
    except BackendError as exc:
        logger.warning("grid staff lookup for %s failed, treated as a resident for now: %s", identity, exc)
        return None, []
    return found, [SlotSet("staff", found), SlotSet("staff_checked", True)]


def unknown(tracker: Tracker, events: List[EventType]) -> bool:
    """True when `recognise` could not ask the backend: staff or resident is not known yet."""
    return not tracker.get_slot("staff_checked") and not events


def default_grid(staff: Dict[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """(name, region code) of the worker's first grid: the default place of their reports."""
    grids = staff.get("grids") or []
    first = grids[0] if grids and isinstance(grids[0], dict) else {}
    code = staff.get("default_region") or first.get("code")
    return (first.get("name") or code), code
