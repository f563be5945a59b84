"""Storage: a FAISS vector index with metadata filters and persistence, and a SQLite KV."""

from sage.platform.storage.kv import SQLiteKV
from sage.platform.storage.vector_index import Hit, VectorIndex

__all__ = ["Hit", "SQLiteKV", "VectorIndex"]
