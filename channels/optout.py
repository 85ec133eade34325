"""Numbers that texted STOP / 退订: no more SMS notifications to them until START / 订阅.

A small SQLite file of its own (``SMS_OPTOUT_PATH``, default ``var/sms_optout.sqlite3``), shared by
the rasa server (which receives the keywords) and the routing backend (whose notifier checks it
before texting). It is not part of the routing database schema. Twilio keeps its own opt-out list
for long codes as well; this one also covers messaging set-ups where Twilio's is switched off.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "var" / "sms_optout.sqlite3"


def default_path() -> Path:
    raw = os.environ.get("SMS_OPTOUT_PATH", "").strip()
    return Path(raw) if raw else DEFAULT_PATH


class OptOutStore:
    def __init__(self, path: Optional[Path] = None):
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(str(self.path), timeout=10)
        if not self._ready:
            with self._lock:
                conn.execute("CREATE TABLE IF NOT EXISTS sms_optout ("
                             "phone TEXT PRIMARY KEY, opted_out_at TEXT NOT NULL, keyword TEXT)")
                conn.commit()
                self._ready = True
        return conn

    def _ensure_dir(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def opt_out(self, phone: str, keyword: str = "STOP") -> None:
        self._ensure_dir()
        with closing(self._connect()) as conn:
            conn.execute(
                "INSERT INTO sms_optout (phone, opted_out_at, keyword) VALUES (?, ?, ?) "
                "ON CONFLICT(phone) DO UPDATE SET opted_out_at = excluded.opted_out_at, keyword = excluded.keyword",
                (phone, datetime.now(timezone.utc).isoformat(), keyword),
            )
            conn.commit()

    def opt_in(self, phone: str) -> None:
        if not self.path.exists():
            return
        with closing(self._connect()) as conn:
            conn.execute("DELETE FROM sms_optout WHERE phone = ?", (phone,))
            conn.commit()

    def is_opted_out(self, phone: str) -> bool:
        if not self.path.exists():
            return False
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT 1 FROM sms_optout WHERE phone = ?", (phone,)).fetchone()
        return row is not None
