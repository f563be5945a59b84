"""``Index``: chunks -> embeddings -> the vector store service, as one operator.

Feed it batches of chunks (``sage.libs.text.Chunk`` or ``{"id", "text", "metadata"}``
dicts): each batch is embedded in ONE request and added to the store service; the
store is saved when the operator closes, so a later job's service can load the folder.
:func:`index_chunks` declares and runs the whole indexing job.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sage.kernel import BaseEnvironment, LocalEnvironment
from sage.libs.text import Chunk
from sage.middleware.operators.embed import Embed
from sage.middleware.services import VectorStoreService


def chunk_record(item: Chunk | dict[str, Any]) -> dict[str, Any]:
    """``{"id", "text", "metadata"}`` of a chunk or chunk-like dict (``doc_id`` kept)."""
    if isinstance(item, Chunk):
        return {"id": item.id, "text": item.text,
                "metadata": {"doc_id": item.doc_id, **item.metadata}}
    missing = {"id", "text"} - set(item)
    if missing:
        raise ValueError(f"a chunk to index needs {sorted(missing)}")
    return {"id": str(item["id"]), "text": str(item["text"]),
            "metadata": dict(item.get("metadata") or {})}


class Index(Embed):
    """Input: one chunk or a batch (list). Output: the ids it added, in order."""

    def __init__(self, base_url: str | None = None, *, service: str = "vector_store",
                 save: bool = True, model: str | None = None, batch_size: int = 64,
                 client: Any = None, timeout: float = 120.0) -> None:
        super().__init__(base_url, model=model, batch_size=batch_size, client=client,
                         timeout=timeout)
        self.service = service
        self.save = save
        self.added = 0

    def execute(self, data: Any) -> list[str]:
        items = list(data) if isinstance(data, list | tuple) else [data]
        records = [chunk_record(x) for x in items]
        if not records:
            return []
        vectors = self.embed_texts([r["text"] for r in records])
        self.call_service(self.service, [r["id"] for r in records], vectors,
                          [r["text"] for r in records], [r["metadata"] for r in records],
                          method="add")
        self.added += len(records)
        return [r["id"] for r in records]

    def open(self) -> None:
        self.added = 0

    def close(self) -> None:
        if self.added and self.save:  # persist now: the next job loads the folder
            self.call_service(self.service, method="save")
        super().close()


def index_chunks(base_url: str, chunks: Sequence[Chunk | dict[str, Any]],
                 store_path: str | Path, *, batch_size: int = 32,
                 env: BaseEnvironment | None = None, service: str = "vector_store",
                 on_batch: Callable[[int], None] | None = None) -> int:
    """Run the indexing job: embed ``chunks`` through the gateway into a vector store
    saved at ``store_path``. Returns the number of chunks indexed."""
    env = env or LocalEnvironment("index")
    env.register_service(service, VectorStoreService, str(store_path))
    batches = [list(chunks[i:i + batch_size]) for i in range(0, len(chunks), batch_size)]

    def count(ids: list[str]) -> None:
        if on_batch is not None:
            on_batch(len(ids))

    added = env.collect(env.from_batch(batches).map(Index, base_url, service=service), count)
    env.submit(autostop=True)
    return sum(len(ids) for ids in added)
