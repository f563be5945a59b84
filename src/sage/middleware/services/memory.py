"""Agent memory: a short-term window of turns and long-term vector memory, in SQLite.

Short-term memory is the last ``window`` turns of a session (what goes back into the
prompt). Long-term memory holds embedded notes; ``recall`` ranks them by cosine
similarity weighted by recency (exponential decay with ``half_life`` seconds), so a
fact restated yesterday beats the same fact from last month. Everything is persisted,
so an agent restarted on the same ``path`` remembers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sage.common.errors import ConfigError
from sage.libs.agents.protocols import EmbedClient
from sage.libs.retrieval import cosine_matrix

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS turns (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "session TEXT NOT NULL, ts REAL NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS turns_session ON turns (session, seq)",
    "CREATE TABLE IF NOT EXISTS memories (id TEXT PRIMARY KEY, session TEXT NOT NULL, "
    "ts REAL NOT NULL, text TEXT NOT NULL, vector BLOB NOT NULL, metadata TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS memories_session ON memories (session)",
)


class MemoryService:
    """``append``/``window`` (short-term), ``remember``/``recall``/``forget`` (long-term).

    Embeddings come from ``embedder`` (anything with ``embed(texts)``) or, when only
    ``base_url`` is given, an ``LLMClient`` on the gateway (picklable arguments, so the
    service can live in a Ray actor).
    """

    def __init__(self, path: str | Path = ":memory:", *, base_url: str | None = None,
                 embedder: EmbedClient | None = None, window: int = 8,
                 half_life: float = 7 * 24 * 3600.0, recency_weight: float = 0.3,
                 clock: Callable[[], float] = time.time) -> None:
        if not 0.0 <= recency_weight <= 1.0:
            raise ConfigError("recency_weight must be in [0, 1]")
        if half_life <= 0:
            raise ConfigError("half_life must be positive")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url
        self._embedder = embedder
        self.window_size = window
        self.half_life = half_life
        self.recency_weight = recency_weight
        self.clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        with self._db:
            for stmt in _SCHEMA:
                self._db.execute(stmt)

    # -- embeddings ------------------------------------------------------------------
    def _embed(self, texts: list[str]) -> list[list[float]]:
        if self._embedder is None:
            if self.base_url is None:
                raise ConfigError("MemoryService needs an embedder or a base_url to embed")
            from sage.llm.client import LLMClient

            self._embedder = LLMClient(self.base_url)
        return self._embedder.embed(texts)

    # -- short-term ------------------------------------------------------------------
    def append(self, session: str, role: str, content: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO turns (session, ts, role, content) VALUES (?,?,?,?)",
                             (session, self.clock(), role, content))

    def window(self, session: str, n: int | None = None) -> list[dict[str, str]]:
        """The last ``n`` (default ``window``) turns, oldest first, as chat messages."""
        limit = self.window_size if n is None else n
        with self._lock:
            rows = self._db.execute(
                "SELECT role, content FROM turns WHERE session = ? ORDER BY seq DESC LIMIT ?",
                (session, limit)).fetchall()
        return [{"role": r, "content": c} for r, c in reversed(rows)]

    # -- long-term -------------------------------------------------------------------
    def remember(self, session: str, text: str, metadata: dict[str, Any] | None = None,
                 vector: Sequence[float] | None = None, ts: float | None = None) -> str:
        """Store a note; returns its id."""
        vec = np.asarray(vector if vector is not None else self._embed([text])[0],
                         dtype=np.float32)
        mid = uuid.uuid4().hex
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO memories (id, session, ts, text, vector, metadata) "
                "VALUES (?,?,?,?,?,?)",
                (mid, session, self.clock() if ts is None else ts, text, vec.tobytes(),
                 json.dumps(metadata or {})))
        return mid

    def recall(self, session: str, query: str, k: int = 3,
               query_vector: Sequence[float] | None = None) -> list[dict[str, Any]]:
        """Top ``k`` notes by ``similarity * ((1 - w) + w * 0.5 ** (age / half_life))``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, ts, text, vector, metadata FROM memories WHERE session = ?",
                (session,)).fetchall()
        if not rows or k <= 0:
            return []
        q = np.asarray(query_vector if query_vector is not None else self._embed([query])[0],
                       dtype=np.float32)
        matrix = np.vstack([np.frombuffer(r[3], dtype=np.float32) for r in rows])
        sims = cosine_matrix(q, matrix)[0]
        ages = np.maximum(self.clock() - np.array([r[1] for r in rows]), 0.0)
        decay = 0.5 ** (ages / self.half_life)
        w = self.recency_weight
        scores = sims * ((1 - w) + w * decay)
        order = np.argsort(-scores, kind="stable")[:k]
        return [{"id": rows[i][0], "text": rows[i][2], "score": float(scores[i]),
                 "similarity": float(sims[i]), "age_s": float(ages[i]),
                 "metadata": json.loads(rows[i][4])} for i in order]

    def forget(self, session: str, memory_id: str | None = None) -> int:
        """Delete one note, or the whole session (notes and turns); returns rows deleted."""
        with self._lock, self._db:
            if memory_id is not None:
                return self._db.execute("DELETE FROM memories WHERE session = ? AND id = ?",
                                        (session, memory_id)).rowcount
            n = self._db.execute("DELETE FROM memories WHERE session = ?", (session,)).rowcount
            return n + self._db.execute("DELETE FROM turns WHERE session = ?",
                                        (session,)).rowcount

    def count(self, session: str) -> dict[str, int]:
        with self._lock:
            turns = self._db.execute("SELECT COUNT(*) FROM turns WHERE session = ?",
                                     (session,)).fetchone()[0]
            notes = self._db.execute("SELECT COUNT(*) FROM memories WHERE session = ?",
                                     (session,)).fetchone()[0]
        return {"turns": int(turns), "memories": int(notes)}

    def process(self, session: str, query: str, k: int = 3) -> list[dict[str, Any]]:
        return self.recall(session, query, k)

    def close(self) -> None:
        with self._lock:
            self._db.close()
        closer = getattr(self._embedder, "close", None)
        if self.base_url is not None and callable(closer):
            closer()
