"""The routing backend's HTTP API as the action server uses it (role intake).

Every call has a timeout; calls that may be retried safely — reads, and writes that carry an
``Idempotency-Key`` — are retried with exponential backoff on connection errors, timeouts and 5xx.
A retried ``POST /api/tickets`` with the same key returns the ticket of the first attempt, so a
retry (or a later outbox delivery) never opens a second ticket.

Errors:
- :class:`BackendUnavailable` — nothing usable came back (down, timing out, 5xx): the caller may
  queue the request (actions.outbox) and try again later.
- :class:`BackendRejected` — the backend answered 4xx: retrying the same request cannot help
  (404 also means "the reporter check failed", see docs/routing.md).
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import httpx

from actions import settings as settings_module

logger = logging.getLogger(__name__)


class BackendError(RuntimeError):
    pass


class BackendUnavailable(BackendError):
    """Connection refused, timeout, or a 5xx after every retry."""


class BackendRejected(BackendError):
    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details if isinstance(details, dict) else {}


def idempotency_key(*parts: str) -> str:
    """A stable key from the conversation and the report (≤ 200 characters, ASCII)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]
    return f"intake-{digest}"


class BackendClient:
    def __init__(self, base_url: Optional[str] = None, token: Optional[str] = None,
                 timeout: Optional[float] = None, retries: Optional[int] = None,
                 backoff: Optional[float] = None, transport: Optional[httpx.BaseTransport] = None):
        s = settings_module.load()
        self.base_url = (base_url or s.routing_url).rstrip("/")
        self.token = token or s.routing_token
        self.timeout = s.timeout if timeout is None else timeout
        self.retries = s.retries if retries is None else retries
        self.backoff = s.backoff if backoff is None else backoff
        self._transport = transport

    # ------------------------------------------------------------------ plumbing
    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(self.timeout),
                            headers={"Authorization": f"Bearer {self.token}"},
                            transport=self._transport)

    def _request(self, method: str, path: str, *, json: Any = None, params: Optional[Dict[str, Any]] = None,
                 key: Optional[str] = None, retry: bool = True) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        attempts = 1 + (self.retries if retry else 0)
        last: Optional[Exception] = None
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff * (2 ** (attempt - 1)))
            try:
                with self._client() as client:
                    response = client.request(method, path, json=json, params=params, headers=headers)
            except httpx.HTTPError as exc:  # connect error, timeout, protocol error
                last = exc
                logger.warning("backend %s %s failed (attempt %d/%d): %s", method, path, attempt + 1,
                               attempts, exc)
                continue
            if response.status_code >= 500:
                last = BackendUnavailable(f"{response.status_code} from {path}")
                logger.warning("backend %s %s answered %d (attempt %d/%d)", method, path,
                               response.status_code, attempt + 1, attempts)
                continue
            if response.status_code >= 400:
                try:
                    body = response.json()
                except ValueError:
                    body = {}
                body = body if isinstance(body, dict) else {}
                raise BackendRejected(response.status_code, str(body.get("error", "error")),
                                      str(body.get("message", response.text[:200])), body.get("details"))
            return response.json()
        raise BackendUnavailable(str(last))

    # ------------------------------------------------------------------ tickets
    def create_ticket(self, payload: Dict[str, Any], key: str) -> Dict[str, Any]:
        """POST /api/tickets with an Idempotency-Key (so retrying is safe)."""
        return self._request("POST", "/api/tickets", json=payload, key=key)

    # ------------------------------------------------------------------ reporter follow-up
    @staticmethod
    def _proof(number: str, channel_identity: Optional[str], phone_tail: Optional[str]) -> Dict[str, Any]:
        body: Dict[str, Any] = {"number": number}
        if channel_identity:
            body["channel_identity"] = channel_identity
        if phone_tail:
            body["phone_tail"] = phone_tail
        return body

    def status(self, number: str, channel_identity: Optional[str], phone_tail: Optional[str] = None) -> Dict[str, Any]:
        return self._request("POST", "/api/reporter/status",
                             json=self._proof(number, channel_identity, phone_tail))

    def my_tickets(self, channel_identity: str, limit: int = 10) -> List[Dict[str, Any]]:
        return self._request("GET", "/api/reporter/tickets",
                             params={"channel_identity": channel_identity, "limit": limit})

    def supplement(self, number: str, channel_identity: Optional[str], phone_tail: Optional[str],
                   text: Optional[str], attachments: List[Dict[str, Any]], key: str) -> Dict[str, Any]:
        body = self._proof(number, channel_identity, phone_tail)
        if text:
            body["text"] = text
        body["attachments"] = attachments
        return self._request("POST", "/api/reporter/supplement", json=body, key=key)

    def urge(self, number: str, channel_identity: Optional[str], phone_tail: Optional[str],
             note: Optional[str], key: str) -> Dict[str, Any]:
        body = self._proof(number, channel_identity, phone_tail)
        if note:
            body["note"] = note
        return self._request("POST", "/api/reporter/urge", json=body, key=key)

    def rate(self, number: str, channel_identity: Optional[str], phone_tail: Optional[str], rating: int,
             comment: Optional[str], key: str) -> Dict[str, Any]:
        body = self._proof(number, channel_identity, phone_tail)
        body["rating"] = rating
        if comment:
            body["comment"] = comment
        return self._request("POST", "/api/reporter/rate", json=body, key=key)

    def reopen(self, number: str, channel_identity: Optional[str], phone_tail: Optional[str], note: str,
               key: str) -> Dict[str, Any]:
        body = self._proof(number, channel_identity, phone_tail)
        body["note"] = note
        return self._request("POST", "/api/reporter/reopen", json=body, key=key)

    # ------------------------------------------------------------------ grid staff (网格员)
    @staticmethod
    def _staff_path(identity: str, *rest: str) -> str:
        # identities hold ':' and '+' (sms:+8613800001111): one quoted path segment
        return "/".join([f"/api/staff/by-identity/{quote(identity, safe='')}", *rest])

    def staff_by_identity(self, identity: str, retry: bool = True) -> Optional[Dict[str, Any]]:
        """The grid worker with this channel identity, or None when there is none (404)."""
        try:
            return self._request("GET", self._staff_path(identity), retry=retry)
        except BackendRejected as exc:
            if exc.status == 404:
                return None
            raise

    def staff_todo(self, identity: str, limit: int = 10) -> Dict[str, Any]:
        return self._request("GET", self._staff_path(identity, "tickets"), params={"limit": limit})

    def staff_report(self, identity: str, body: Dict[str, Any], key: str) -> Dict[str, Any]:
        """A patrol report (``resolve_on_spot`` closes it in one step); safe to retry with `key`."""
        return self._request("POST", self._staff_path(identity, "reports"), json=body, key=key)

    def staff_act(self, identity: str, number: str, action: str, body: Dict[str, Any]) -> Dict[str, Any]:
        """accept / progress / resolve / escalate; not retried (the transitions are not idempotent)."""
        return self._request("POST", self._staff_path(identity, "tickets", quote(number, safe=""), action),
                             json=body or None, retry=False)
