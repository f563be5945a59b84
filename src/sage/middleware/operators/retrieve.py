"""``Retrieve``: question -> top-k chunks from the vector store service.

Modes: ``dense`` (embed the question, FAISS search), ``bm25`` (sparse, no model call)
and ``hybrid`` (both, fused by reciprocal rank). The store is a registered service,
so the same operator runs locally and on Ray.
"""

from __future__ import annotations

from typing import Any

from sage.kernel import MapFunction
from sage.middleware.operators.base import ModelCalling

MODES = ("dense", "bm25", "hybrid")


class Retrieve(ModelCalling, MapFunction):
    """Adds ``out_field``: ``[{id, doc_id, text, score, metadata}]``, best first."""

    def __init__(self, base_url: str | None = None, *, mode: str = "hybrid", k: int = 5,
                 service: str = "vector_store", query_field: str = "question",
                 out_field: str = "retrieved", fetch_k: int | None = None,
                 fusion: str = "rrf", client: Any = None, timeout: float = 120.0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        # BM25 never calls a model, so it needs no gateway.
        self._init_client(base_url, client, None, None, timeout, required=mode != "bm25")
        self.mode = mode
        self.k = k
        self.service = service
        self.query_field = query_field
        self.out_field = out_field
        self.fetch_k = fetch_k
        self.fusion = fusion

    def retrieve(self, query: str) -> list[dict[str, Any]]:
        if self.mode == "bm25":
            return list(self.call_service(self.service, query, self.k, method="search_text"))
        vector = self.client.embed([query])[0]
        if self.mode == "dense":
            return list(self.call_service(self.service, vector, self.k, method="search"))
        return list(self.call_service(self.service, query, vector, self.k, self.fetch_k,
                                      self.fusion, method="hybrid_search"))

    def execute(self, data: Any) -> dict[str, Any]:
        record = {self.query_field: data} if isinstance(data, str) else dict(data)
        record[self.out_field] = self.retrieve(str(record[self.query_field]))
        return record

    def close(self) -> None:
        self._close_client()
