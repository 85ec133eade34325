"""Delivers the outbox and tells the resident the number.

A daemon thread in the action server (started when the ``actions`` package is imported by
``rasa run actions`` / ``python -m rasa_sdk``; ``ACTIONS_OUTBOX_WORKER=0`` turns it off) runs
:func:`run_once` every ``ACTIONS_OUTBOX_INTERVAL`` seconds, and at once when a report was queued:

1. every pending row is POSTed to ``/api/tickets`` (a grid worker's report: to their
   ``/api/staff/by-identity/…/reports``, actions.filing.send) with its original Idempotency-Key — if the
   backend had in fact created the ticket before it failed to answer, it replays that ticket, so
   there is still exactly one;
2. every delivered row whose resident has not heard the number yet is announced through the
   rasa server: ``POST $RASA_URL/conversations/<id>/trigger_intent?output_channel=latest`` with
   the intent ``EXTERNAL_ticket_filed`` and the entity ``ticket_number``; the rule for that intent
   runs ``action_notify_ticket`` in the resident's conversation, and the message goes out on the
   channel the resident last wrote from. Until that call succeeds it is retried with backoff.
"""
from __future__ import annotations

import logging
import os
import threading
from typing import Optional

import httpx

from actions import settings as settings_module
from actions.backend_client import BackendClient, BackendRejected, BackendUnavailable
from actions.filing import send
from actions.outbox import Entry, Outbox

logger = logging.getLogger(__name__)

EXTERNAL_INTENT = "EXTERNAL_ticket_filed"
_wake = threading.Event()
_started = threading.Lock()
_thread: Optional[threading.Thread] = None


class RasaNotifier:
    """Triggers the notification intent in the resident's conversation."""

    def __init__(self, rasa_url: str, token: Optional[str] = None, timeout: float = 30.0):
        self.rasa_url = rasa_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def notify(self, entry: Entry) -> None:
        params = {"output_channel": "latest"}
        if self.token:
            params["token"] = self.token
        response = httpx.post(
            f"{self.rasa_url}/conversations/{entry.conversation_id}/trigger_intent", params=params,
            json={"name": EXTERNAL_INTENT, "entities": {"ticket_number": entry.ticket_number}},
            timeout=self.timeout,
        )
        response.raise_for_status()


def run_once(outbox: Outbox, client: BackendClient, notifier: Optional[RasaNotifier],
             base_delay: float) -> int:
    """One delivery round; returns how many rows were delivered."""
    delivered = 0
    for entry in outbox.due_for_delivery():
        try:
            response = send(client, entry.kind, entry.payload, entry.key)
        except BackendUnavailable as exc:
            outbox.mark_failed(entry.key, str(exc), base_delay)
            logger.info("outbox: backend still unavailable (%s); %s waits", exc, entry.key)
            break  # the others would fail the same way; try again next round
        except BackendRejected as exc:
            # the request itself is refused: keep it (never lost), retry rarely, log loudly
            outbox.mark_failed(entry.key, f"rejected: {exc}", max(base_delay, 60.0))
            logger.error("outbox: backend refused %s: %s", entry.key, exc)
            continue
        outbox.mark_delivered(entry.key, response)
        delivered += 1
        logger.info("outbox: delivered %s as ticket %s", entry.key, response.get("number"))
    for entry in outbox.due_for_notification():
        if notifier is None:
            outbox.mark_notify_failed(entry.key, "RASA_URL not set: cannot notify", base_delay)
            continue
        try:
            notifier.notify(entry)
        except httpx.HTTPError as exc:
            outbox.mark_notify_failed(entry.key, f"notify: {exc}", base_delay)
            logger.info("outbox: could not notify %s yet: %s", entry.conversation_id, exc)
            continue
        outbox.mark_notified(entry.key)
    return delivered


def wake() -> None:
    """Ask the worker for a round now (a report was just queued)."""
    _wake.set()


def _loop() -> None:
    while True:
        s = settings_module.load()
        try:
            outbox = Outbox(s.outbox_path)
            notifier = RasaNotifier(s.rasa_url, s.rasa_token) if s.rasa_url else None
            run_once(outbox, BackendClient(retries=0), notifier, base_delay=s.outbox_interval)
        except Exception:  # never let the worker die
            logger.exception("outbox: delivery round failed")
        _wake.wait(timeout=s.outbox_interval)
        _wake.clear()


def start_worker() -> None:
    global _thread
    with _started:
        if _thread is not None and _thread.is_alive():
            return
        _thread = threading.Thread(target=_loop, name="outbox-delivery", daemon=True)
        _thread.start()
        logger.info("outbox delivery worker started")


def start_worker_from_env() -> None:
    if os.environ.get("ACTIONS_OUTBOX_WORKER", "1").strip() not in ("0", "false", "no", "off"):
        start_worker()
