"""The channels' one call to the routing backend: leave a ticket draft for operator follow-up
(a phone call that ended mid-intake). ``ROUTING_URL`` / ``ROUTING_TOKEN`` (an intake token).

The request carries an ``Idempotency-Key`` so a repeated status callback files one ticket. If the
backend cannot be reached the draft is appended to a JSON-lines file
(``CHANNEL_DRAFT_FALLBACK_PATH``, default ``var/undelivered_drafts.jsonl``) so nothing is lost;
an operator can replay it with ``python -m channels.routing_client replay``. Without
``ROUTING_TOKEN`` the development token ``dev-intake-token`` is used (as by the action server).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import httpx

from channels import logsafe

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROUTING_URL = "http://127.0.0.1:8000"
DEFAULT_DEV_TOKEN = "dev-intake-token"


def fallback_path() -> Path:
    raw = os.environ.get("CHANNEL_DRAFT_FALLBACK_PATH", "").strip()
    return Path(raw) if raw else ROOT / "var" / "undelivered_drafts.jsonl"


class RoutingClient:
    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, timeout: float = 10.0):
        self.url = (url or os.environ.get("ROUTING_URL") or DEFAULT_ROUTING_URL).rstrip("/")
        # dev-intake-token exists only with ROUTING_DEV_TOKENS=1 in development (make run), like the
        # action server's default; production sets ROUTING_TOKEN to a real intake token.
        self.token = token or os.environ.get("ROUTING_TOKEN") or DEFAULT_DEV_TOKEN
        self.timeout = timeout
        logsafe.register_secret(self.token)

    def _headers(self, key: str) -> Dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}

    async def create_ticket(self, body: Dict[str, Any], idempotency_key: str) -> Optional[Dict[str, Any]]:
        """POST /api/tickets; the created ticket, or None (logged, kept in the fallback file)."""
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                r = await client.post(f"{self.url}/api/tickets", json=body, headers=self._headers(idempotency_key))
            if r.status_code in (200, 201):
                return r.json()
            logger.error("routing backend refused the draft %s: %s %s", idempotency_key, r.status_code, r.text[:300])
        except httpx.HTTPError as exc:
            logger.error("routing backend unreachable for draft %s: %s", idempotency_key, exc)
        self._keep(body, idempotency_key)
        return None

    def create_ticket_sync(self, body: Dict[str, Any], idempotency_key: str) -> Optional[Dict[str, Any]]:
        with httpx.Client(timeout=self.timeout) as client:
            r = client.post(f"{self.url}/api/tickets", json=body, headers=self._headers(idempotency_key))
        if r.status_code in (200, 201):
            return r.json()
        logger.error("routing backend refused %s: %s %s", idempotency_key, r.status_code, r.text[:300])
        return None

    @staticmethod
    def _keep(body: Dict[str, Any], key: str) -> None:
        path = fallback_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"idempotency_key": key, "body": body}, ensure_ascii=False) + "\n")
            logger.warning("draft %s kept in %s for a later replay", key, path)
        except OSError as exc:
            logger.error("could not keep draft %s: %s", key, exc)


def replay(path: Path, client: RoutingClient) -> int:
    """Send the kept drafts again; the ones still failing stay in the file. Returns failures."""
    if not path.exists():
        print(f"nothing to replay ({path} does not exist)")
        return 0
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    remaining = []
    for line in lines:
        item = json.loads(line)
        try:
            created = client.create_ticket_sync(item["body"], item["idempotency_key"])
        except httpx.HTTPError as exc:
            print(f"{item['idempotency_key']}: {exc}", file=sys.stderr)
            created = None
        if created is None:
            remaining.append(line)
        else:
            print(f"{item['idempotency_key']} → {created.get('number')}")
    path.write_text("".join(line + "\n" for line in remaining), encoding="utf-8")
    return len(remaining)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description="replay drafts the channels could not deliver")
    parser.add_argument("command", choices=["replay"])
    parser.add_argument("--path", type=Path, default=None)
    args = parser.parse_args(argv)
    logsafe.install()
    return 1 if replay(args.path or fallback_path(), RoutingClient()) else 0


if __name__ == "__main__":
    sys.exit(main())
