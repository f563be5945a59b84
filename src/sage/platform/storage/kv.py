"""A small persistent key-value store on SQLite (JSON values, namespaced keys).

For state that must survive a restart but needs no server: agent memory, caches,
job bookkeeping. Safe to share between threads of one process.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class SQLiteKV:
    """``put/get/delete/keys/items`` per ``namespace``; ``":memory:"`` for a throwaway."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL" if self.path != ":memory:"
                             else "PRAGMA journal_mode=MEMORY")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS kv (ns TEXT NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (ns, key))")

    def put(self, key: str, value: Any, namespace: str = "default") -> None:
        data = json.dumps(value)
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO kv (ns, key, value) VALUES (?, ?, ?)",
                             (namespace, key, data))

    def get(self, key: str, default: Any = None, namespace: str = "default") -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE ns = ? AND key = ?",
                                   (namespace, key)).fetchone()
        return default if row is None else json.loads(row[0])

    def delete(self, key: str, namespace: str = "default") -> bool:
        with self._lock, self._db:
            cur = self._db.execute("DELETE FROM kv WHERE ns = ? AND key = ?", (namespace, key))
        return cur.rowcount > 0

    def keys(self, namespace: str = "default", prefix: str = "") -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT key FROM kv WHERE ns = ? AND substr(key, 1, ?) = ? ORDER BY key",
                (namespace, len(prefix), prefix)).fetchall()
        return [r[0] for r in rows]

    def items(self, namespace: str = "default") -> Iterator[tuple[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM kv WHERE ns = ? ORDER BY key",
                                    (namespace,)).fetchall()
        for key, value in rows:
            yield key, json.loads(value)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM kv").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteKV:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
