"""Opening a ticket: the payload from the conversation, the call, and the outbox when the backend
is down. Used by the confirmed report, the emergency report and the hand-off to a human."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker

from actions import context, settings as settings_module
from actions.backend_client import BackendClient, BackendRejected, BackendUnavailable
from actions.outbox import Outbox
from routing.catalog import load_catalog

logger = logging.getLogger(__name__)
UNKNOWN = "unknown"  # slot value: the resident does not know (party, time)
DEFAULT_WORKING_DAYS = 5  # the backend's deadline for a ticket without a known type
DEFAULT_URGENT_HOURS = 24
INCIDENT_TIME_MAX = 200  # the backend's limit (tickets.incident_time); a longer answer is cut


def _bounded(text: Optional[str], limit: int) -> Optional[str]:
    if not text or len(text) <= limit:
        return text
    return text[:limit - 1] + "…"


@dataclass
class Filing:
    status: str  # "filed" | "queued" | "rejected"
    ticket: Optional[Dict[str, Any]] = None
    error: Optional[str] = None


def attachments_from(meta: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Channel attachment metadata → the backend's AttachmentIn."""
    out = []
    for item in meta.get("attachments") or []:
        if not isinstance(item, dict):
            continue
        ident = item.get("file_id") or item.get("url") or item.get("id") or "file"
        name = item.get("file_name") or item.get("filename") or f"{item.get('kind') or 'file'}-{ident}"
        url = item.get("url") or (f"{item.get('source')}:{item['file_id']}" if item.get("file_id") else None)
        try:
            size = max(0, int(item.get("size") or 0))
        except (TypeError, ValueError):
            size = 0
        out.append({"filename": str(name)[:255],
                    "content_type": str(item.get("mime_type") or item.get("content_type") or "application/octet-stream")[:100],
                    "size": size, **({"url": str(url)[:2000]} if url else {})})
    return out[:20]


def reporter(tracker: Tracker) -> Dict[str, Any]:
    anonymous = bool(tracker.get_slot("anonymous"))
    phone = None if anonymous else (tracker.get_slot("phone") or None)
    out: Dict[str, Any] = {"anonymous": anonymous}
    if phone:
        out["phone"] = phone
    identity = context.channel_identity(tracker)
    if identity:
        out["channel_identity"] = identity
    return out


def report_payload(tracker: Tracker) -> Dict[str, Any]:
    """The confirmed report as a TicketCreate body."""
    party = tracker.get_slot("party")
    text = tracker.get_slot("report_text") or context.latest_text(tracker) or "-"
    time_text = tracker.get_slot("incident_time")
    payload: Dict[str, Any] = {
        "text": text,
        "channel": context.backend_channel(tracker),
        "event_type": tracker.get_slot("event_type"),
        "parties": [party] if party and party != UNKNOWN else [],
        "urgent": bool(tracker.get_slot("urgent")),
        "reporter": reporter(tracker),
        "attachments": list(tracker.get_slot("attachments") or []),
    }
    optional = {
        "normalised_text": tracker.get_slot("report_normalised"),
        "nlu_confidence": tracker.get_slot("event_confidence"),
        "location_text": tracker.get_slot("location"),
        "region_code": tracker.get_slot("region_code"),
        "incident_time": _bounded(time_text, INCIDENT_TIME_MAX) if time_text != UNKNOWN else None,
    }
    payload.update({k: v for k, v in optional.items() if v not in (None, "")})
    coords = tracker.get_slot("coordinates")
    if isinstance(coords, dict) and coords.get("latitude") is not None and coords.get("longitude") is not None:
        payload["latitude"] = float(coords["latitude"])
        payload["longitude"] = float(coords["longitude"])
    return payload


STAFF_REPORT = "staff_report"  # outbox kind: a grid worker's patrol report, payload {identity, body}


def send(client: BackendClient, kind: str, payload: Dict[str, Any], key: str) -> Dict[str, Any]:
    """The one place that knows which endpoint takes which kind of filing (now or from the outbox)."""
    if kind == STAFF_REPORT:
        return client.staff_report(payload["identity"], payload["body"], key)
    return client.create_ticket(payload, key)


async def file_ticket(tracker: Tracker, payload: Dict[str, Any], key: str, kind: str) -> Filing:
    """Open the ticket now, or queue it durably when the backend cannot be reached."""
    client = BackendClient()
    try:
        ticket = await asyncio.to_thread(send, client, kind, payload, key)
        return Filing("filed", ticket)
    except BackendRejected as exc:
        fields = payload["body"] if kind == STAFF_REPORT else payload
        if exc.code == "unknown_region" and fields.get("region_code"):
            # the NLU resolved a division the backend's region tree does not hold: let the
            # backend resolve the place text itself
            fields = {k: v for k, v in fields.items() if k != "region_code"}
            payload = {**payload, "body": fields} if kind == STAFF_REPORT else fields
            return await file_ticket(tracker, payload, key, kind)
        logger.error("backend refused the %s of %s: %s", kind, tracker.sender_id, exc)
        return Filing("rejected", error=str(exc))
    except BackendUnavailable as exc:
        outbox = Outbox(settings_module.load().outbox_path)
        outbox.enqueue(key, tracker.sender_id, kind, payload, error=str(exc))
        logger.warning("backend unavailable, %s of %s queued in the outbox: %s", kind, tracker.sender_id, exc)
        return Filing("queued", error=str(exc))


def deadline_text(domain: Dict[str, Any], ticket: Dict[str, Any]) -> str:
    """'10个工作日' / '2小时', from the catalogue (what the backend counted), plus the date."""
    et = load_catalog().get(ticket.get("event_type") or "")
    if et is not None and et.deadline.hours is not None:
        span = context.text_of(domain, "utter_fragment_hours", hours=et.deadline.hours)
    elif et is not None:
        span = context.text_of(domain, "utter_fragment_working_days", days=et.deadline.working_days)
    elif ticket.get("urgent"):
        span = context.text_of(domain, "utter_fragment_hours", hours=DEFAULT_URGENT_HOURS)
    else:
        span = context.text_of(domain, "utter_fragment_working_days", days=DEFAULT_WORKING_DAYS)
    raw = ticket.get("deadline_at")
    if raw:
        try:
            when = datetime.fromisoformat(raw)
            span += context.text_of(domain, "utter_fragment_deadline_date", month=when.month, day=when.day,
                                    hour=when.hour, minute=f"{when.minute:02d}")
        except ValueError:
            pass
    return span


def department_name(ticket: Dict[str, Any]) -> str:
    dept = ticket.get("department")
    if isinstance(dept, dict):
        return str(dept.get("name") or "")
    return str(dept or "")
