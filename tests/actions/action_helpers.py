"""Helpers of the action tests: parse results, trackers, running an action, the operator API."""
from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Dict, Iterable, List, Optional

import httpx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

OPERATOR = {"Authorization": "Bearer dev-operator-token"}


def message(text: str, intent: Optional[str] = None, confidence: float = 0.99,
            entities: Iterable[Dict[str, Any]] = (), ranking: Optional[List[Dict[str, Any]]] = None,
            metadata: Optional[Dict[str, Any]] = None, resolution: Optional[Dict[str, Any]] = None,
            original: Optional[str] = None) -> Dict[str, Any]:
    """A parse result as the NLU pipeline produces it."""
    return {
        "text": text, "original_text": original or text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking or ([{"name": intent, "confidence": confidence}] if intent else []),
        "entities": list(entities), "location_resolution": resolution, "metadata": metadata or {},
    }


def ent(entity: str, value: str) -> Dict[str, Any]:
    return {"entity": entity, "value": value, "extractor": "test"}


def tracker(latest: Dict[str, Any], slots: Optional[Dict[str, Any]] = None, sender: Optional[str] = None,
            history: Iterable[Dict[str, Any]] = (), active_loop: Optional[str] = None,
            channel: str = "rest") -> Tracker:
    events = list(history) + [{
        "event": "user", "timestamp": time.time(), "text": latest["original_text"], "parse_data": latest,
        "input_channel": channel, "metadata": latest.get("metadata") or {},
    }]
    return Tracker(sender or f"t-{uuid.uuid4().hex[:12]}", dict(slots or {}), latest, events, False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


def run(action, t: Tracker, domain: Dict[str, Any]):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, domain))
    return dispatcher.messages, events


def slots_of(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def responses(messages: List[Dict[str, Any]]) -> List[str]:
    return [m.get("response") for m in messages]


def operator_get(url: str, path: str, **params: Any) -> Any:
    r = httpx.get(url + path, headers=OPERATOR, params=params, timeout=30)
    r.raise_for_status()
    return r.json()


def operator_act(url: str, number: str, action: str, **body: Any) -> Any:
    r = httpx.post(f"{url}/api/tickets/{number}/{action}", headers=OPERATOR, json=body or None, timeout=30)
    r.raise_for_status()
    return r.json()
