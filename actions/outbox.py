"""The durable local outbox: reports the backend could not take yet.

One SQLite file (``ACTIONS_OUTBOX_PATH``, default ``var/outbox.db``). A row is written — and
committed — before the resident is told "recorded, the number will follow", so a report survives
a crash of the action server as well as an outage of the backend. Rows are keyed by the same
Idempotency-Key the direct call used: queueing twice is a no-op, and delivering twice returns the
same ticket (the backend replays the first answer).

States of a row: pending (``delivered_at`` empty) → delivered (ticket number stored) → notified
(the resident was told the number). Delivery and notification are retried with backoff by
:mod:`actions.delivery`; ``attempts`` and ``last_error`` record why it is still waiting.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    key TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    delivered_at REAL,
    ticket_number TEXT,
    response TEXT,
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    next_notify_at REAL,
    notified_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (delivered_at, next_attempt_at);
"""
MAX_BACKOFF = 300.0


@dataclass
class Entry:
    key: str
    conversation_id: str
    kind: str
    payload: Dict[str, Any]
    created_at: float
    attempts: int
    last_error: Optional[str]
    delivered_at: Optional[float]
    ticket_number: Optional[str]
    response: Optional[Dict[str, Any]]
    notified_at: Optional[float]


def _entry(row: sqlite3.Row) -> Entry:
    return Entry(
        key=row["key"], conversation_id=row["conversation_id"], kind=row["kind"],
        payload=json.loads(row["payload"]), created_at=row["created_at"], attempts=row["attempts"],
        last_error=row["last_error"], delivered_at=row["delivered_at"], ticket_number=row["ticket_number"],
        response=json.loads(row["response"]) if row["response"] else None, notified_at=row["notified_at"],
    )


def backoff(attempts: int, base: float) -> float:
    return min(MAX_BACKOFF, base * (2 ** max(0, attempts - 1)))


class Outbox:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            yield db
        finally:
            db.close()

    # ------------------------------------------------------------------ writing
    def enqueue(self, key: str, conversation_id: str, kind: str, payload: Dict[str, Any],
                error: Optional[str] = None, now: Optional[float] = None) -> bool:
        """Stores the request durably; False if a row with this key exists already."""
        now = time.time() if now is None else now
        with self._lock, self._connect() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO outbox (key, conversation_id, kind, payload, created_at, attempts,"
                " next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                (key, conversation_id, kind, json.dumps(payload, ensure_ascii=False), now, now, error),
            )
            return cur.rowcount == 1

    def mark_failed(self, key: str, error: str, base_delay: float, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self._lock, self._connect() as db:
            row = db.execute("SELECT attempts FROM outbox WHERE key = ?", (key,)).fetchone()
            attempts = (row["attempts"] if row else 0) + 1
            db.execute("UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE key = ?",
                       (attempts, error[:500], now + backoff(attempts, base_delay), key))

    def mark_delivered(self, key: str, response: Dict[str, Any], now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE outbox SET delivered_at = ?, ticket_number = ?, response = ?, attempts = attempts + 1,"
                " last_error = NULL, next_notify_at = ? WHERE key = ? AND delivered_at IS NULL",
                (now, response.get("number"), json.dumps(response, ensure_ascii=False), now, key),
            )

    def mark_notify_failed(self, key: str, error: str, base_delay: float, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self._lock, self._connect() as db:
            row = db.execute("SELECT notify_attempts FROM outbox WHERE key = ?", (key,)).fetchone()
            attempts = (row["notify_attempts"] if row else 0) + 1
            db.execute("UPDATE outbox SET notify_attempts = ?, last_error = ?, next_notify_at = ? WHERE key = ?",
                       (attempts, error[:500], now + backoff(attempts, base_delay), key))

    def mark_notified(self, key: str, now: Optional[float] = None) -> None:
        now = time.time() if now is None else now
        with self._lock, self._connect() as db:
            db.execute("UPDATE outbox SET notified_at = ? WHERE key = ?", (now, key))

    # ------------------------------------------------------------------ reading
    def get(self, key: str) -> Optional[Entry]:
        with self._connect() as db:
            row = db.execute("SELECT * FROM outbox WHERE key = ?", (key,)).fetchone()
        return _entry(row) if row else None

    def by_ticket(self, number: str) -> Optional[Entry]:
        with self._connect() as db:
            row = db.execute("SELECT * FROM outbox WHERE ticket_number = ?", (number,)).fetchone()
        return _entry(row) if row else None

    def due_for_delivery(self, now: Optional[float] = None, limit: int = 50) -> List[Entry]:
        now = time.time() if now is None else now
        with self._connect() as db:
            rows = db.execute("SELECT * FROM outbox WHERE delivered_at IS NULL AND next_attempt_at <= ?"
                              " ORDER BY created_at LIMIT ?", (now, limit)).fetchall()
        return [_entry(r) for r in rows]

    def due_for_notification(self, now: Optional[float] = None, limit: int = 50) -> List[Entry]:
        now = time.time() if now is None else now
        with self._connect() as db:
            rows = db.execute("SELECT * FROM outbox WHERE delivered_at IS NOT NULL AND notified_at IS NULL"
                              " AND next_notify_at <= ? ORDER BY created_at LIMIT ?", (now, limit)).fetchall()
        return [_entry(r) for r in rows]

    def pending(self) -> List[Entry]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM outbox WHERE delivered_at IS NULL ORDER BY created_at").fetchall()
        return [_entry(r) for r in rows]

    def all(self) -> List[Entry]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM outbox ORDER BY created_at").fetchall()
        return [_entry(r) for r in rows]
