"""Embeddings cached on disk (SQLite under ``.cache/``), keyed by model + text hash:
the embedding model shares two cores, and the same tool texts come back every run."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_PATH = Path(".cache") / "agent-embeddings.sqlite"


class CachedEmbedder:
    """Same ``embed`` surface as the client it wraps; misses go to it in one batch."""

    def __init__(self, inner: Any, model_key: str, path: Path = DEFAULT_PATH) -> None:
        self.inner = inner
        self.model_key = model_key
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute("CREATE TABLE IF NOT EXISTS vec (key TEXT PRIMARY KEY, v BLOB)")
        self.hits = 0
        self.misses = 0

    def _key(self, text: str) -> str:
        return hashlib.sha1(f"{self.model_key}\0{text}".encode()).hexdigest()

    def embed(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found: dict[str, list[float]] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for key, blob in self._db.execute(
                f"SELECT key, v FROM vec WHERE key IN ({marks})", chunk
            ):
                found[key] = np.frombuffer(blob, dtype=np.float32).tolist()
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in found))
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if missing:
            vectors = self.inner.embed(missing)
            rows = []
            for text, vec in zip(missing, vectors, strict=True):
                key = self._key(text)
                found[key] = list(vec)
                rows.append((key, np.asarray(vec, dtype=np.float32).tobytes()))
            self._db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?)", rows)
            self._db.commit()
        return [found[k] for k in keys]

    def close(self) -> None:
        self._db.close()
