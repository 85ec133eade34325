"""Idempotency keys for writes: a retried request with the same key gets the stored response;
the same key with a different request is refused (422).

The key row is written in the same transaction as the change it protects, so a crash leaves
neither; two concurrent requests with one key cannot both commit (unique scope+key) and the loser
replays the winner's response.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Dict, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from routing.errors import Invalid
from routing.models import IdempotencyKey
from routing.timeutil import utcnow

MAX_KEY_LENGTH = 200


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps({"m": method, "p": path, "b": body}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _replay(row: IdempotencyKey, digest: str) -> Tuple[int, Dict[str, Any]]:
    if row.request_hash != digest:
        raise Invalid(
            "同一幂等键已用于不同的请求 / this Idempotency-Key was used for a different request",
            "idempotency_key_reused",
        )
    return row.status_code, row.response


def run_idempotent(
    session: Session,
    scope: str,
    key: Optional[str],
    digest: str,
    work: Callable[[], Tuple[int, Dict[str, Any]]],
) -> Tuple[int, Dict[str, Any], bool]:
    """(status, body, replayed). Commits the session on success."""
    if key is None:
        status, body = work()
        session.commit()
        return status, body, False
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key 长度应为 1–{MAX_KEY_LENGTH} / bad Idempotency-Key length", "bad_idempotency_key")
    stmt = select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    row = session.execute(stmt).scalar_one_or_none()
    if row is not None:
        status, body = _replay(row, digest)
        session.rollback()
        return status, body, True
    status, body = work()
    session.add(IdempotencyKey(scope=scope, key=key, request_hash=digest, status_code=status,
                               response=body, created_at=utcnow()))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a concurrent request with the same key won: replay its response
        row = session.execute(stmt).scalar_one_or_none()
        if row is None:
            raise
        status, body = _replay(row, digest)
        return status, body, True
    return status, body, False
