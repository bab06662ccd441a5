"""SQLite cache of LLM replies, keyed by a hash of the full request.

The key covers everything that changes the reply (endpoint, model, messages, sampling
parameters, token budget) *and the sample index*: when several samples are wanted for one
prompt, each has its own key, so a cache hit never silently turns n samples into n copies of
one. Only replies that came back whole from the server are stored (a reply cut at the budget
is stored with its ``finish_reason``, so a rerun sees it cut too); errors are retried on the
next run.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


def request_key(request: dict) -> str:
    """sha256 of the canonical JSON of the request (sorted keys, no whitespace)."""
    blob = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedReply:
    """A stored reply: its text, why generation stopped, how many continuations it took."""

    text: str
    finish_reason: str | None = "stop"
    continuations: int = 0


class ReplyCache:
    """``key -> CachedReply`` in one SQLite file, safe to share between threads."""

    _COLUMNS = {"finish_reason": "TEXT", "continuations": "INTEGER DEFAULT 0"}

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, request TEXT, "
                         "reply TEXT, created REAL)")
        have = {row[1] for row in self._db.execute("PRAGMA table_info(replies)")}
        for name, decl in self._COLUMNS.items():  # caches written before these columns existed
            if name not in have:
                self._db.execute(f"ALTER TABLE replies ADD COLUMN {name} {decl}")
        self._db.commit()

    def get(self, key: str) -> CachedReply | None:
        with self._lock:
            row = self._db.execute("SELECT reply, finish_reason, continuations FROM replies WHERE key = ?",
                                   (key,)).fetchone()
        if row is None:
            return None
        return CachedReply(row[0], row[1] or "stop", row[2] or 0)

    def put(self, key: str, request: dict, reply: str, finish_reason: str | None = "stop",
            continuations: int = 0) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies (key, request, reply, created, finish_reason, "
                             "continuations) VALUES (?, ?, ?, ?, ?, ?)",
                             (key, json.dumps(request, sort_keys=True), reply, time.time(), finish_reason,
                              continuations))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
