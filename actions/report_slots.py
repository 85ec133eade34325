"""What a report holds: its slots, what one message fills of them, and the text of its details.

Shared by the start of a report and its form (actions.intake), the read-back and corrections
(actions.read_back), filing (actions.submit) and the hand-off (actions.fallback).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.types import DomainDict

from actions import context, staff as staff_module
from actions.filing import UNKNOWN

MAX_ATTACHMENTS = 20  # the backend's limit per ticket
REPORT_SLOTS = ("event_type", "event_confidence", "report_text", "report_normalised", "report_id", "location",
                "region_code", "coordinates", "party", "incident_time", "urgent", "other_issues", "attachments",
                "stage", "pending_text", "pending_entities", "pending_coordinates", "pending_attachments",
                "requested_slot")


def best_location(values: List[str]) -> Optional[str]:
    return max(values, key=len) if values else None


def adcode(message: Dict[str, Any]) -> Optional[str]:
    res = context.resolution(message)
    return str(res["adcode"]) if res else None

def coordinates_of(tracker: Tracker) -> Optional[Dict[str, float]]:
    loc = context.latest_metadata(tracker).get("location")
    if isinstance(loc, dict) and loc.get("latitude") is not None and loc.get("longitude") is not None:
        return {"latitude": float(loc["latitude"]), "longitude": float(loc["longitude"])}
    return None

def slots_from_message(message: Dict[str, Any]) -> Dict[str, Any]:
    """Report slots a single message fills through its entities."""
    out: Dict[str, Any] = {}
    location = best_location(context.entity_values(message, "location"))
    if location:
        out["location"] = location
        out["region_code"] = adcode(message)
    parties = context.entity_values(message, "party")
    if parties:
        out["party"] = "、".join(parties)
    times = context.entity_values(message, "time")
    if times:
        out["incident_time"] = "，".join(times)
    phones = context.entity_values(message, "phone")
    if phones:
        out["phone"] = phones[0]
        out["anonymous"] = False
    return out

def staff_place(staff: Dict[str, Any], filled: Dict[str, Any]) -> Dict[str, Any]:
    """A worker's report is placed by the backend: the community or grid the place names, else
    their first grid — never the NLU's district code, which would send a patrol finding to the
    district. Without a place the worker's grid is the place."""
    if filled.get("location"):
        return {"region_code": None}
    name, code = staff_module.default_grid(staff)
    return {"location": name, "region_code": code}

def details_text(domain: DomainDict, tracker: Tracker, values: Optional[Dict[str, Any]] = None) -> str:
    """'地点：…；对方：…；时间：…；联系电话：…' from the domain's fragments."""
    get = (lambda k: (values or {}).get(k, tracker.get_slot(k))) if values is not None else tracker.get_slot
    parts = []
    if get("location"):
        parts.append(context.text_of(domain, "utter_fragment_place", place=get("location")))
    party = get("party")
    if party:
        shown = context.text_of(domain, "utter_fragment_unknown") if party == UNKNOWN else party
        parts.append(context.text_of(domain, "utter_fragment_party", party=shown))
    when = get("incident_time")
    if when:
        shown = context.text_of(domain, "utter_fragment_unknown") if when == UNKNOWN else when
        parts.append(context.text_of(domain, "utter_fragment_time", time=shown))
    return context.text_of(domain, "utter_fragment_separator").join(parts)


def contact_text(domain: DomainDict, tracker: Tracker) -> str:
    if tracker.get_slot("anonymous"):
        return context.text_of(domain, "utter_fragment_anonymous")
    phone = tracker.get_slot("phone")
    if phone:
        return context.text_of(domain, "utter_fragment_phone", phone=context.mask_phone(phone))
    return ""
