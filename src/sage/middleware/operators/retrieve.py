"""``Retrieve``: question -> top-k chunks from the vector store service.

Modes: ``dense`` (embed the question, FAISS search), ``bm25`` (sparse, no model call)
and ``hybrid`` (both, fused by reciprocal rank). The store is a registered service,
so the same operator runs locally and on Ray. With ``stream.map_batches(Retrieve, ...)``
each micro-batch of questions is embedded in one request and, for ``dense``, searched in
one FAISS call (``execute_batch``); a list record is treated the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sage.common.errors import ConfigError
from sage.kernel import MapFunction
from sage.middleware.operators.base import ModelCalling

MODES = ("dense", "bm25", "hybrid")


class Retrieve(ModelCalling, MapFunction):
    """Adds ``out_field``: ``[{id, doc_id, text, score, metadata}]``, best first.

    ``filter`` (a metadata mapping, e.g. ``{"doc_id": ["a", "b"]}``) restricts every
    search; a record's own ``filter_field`` entry replaces it for that record.
    """

    def __init__(self, base_url: str | None = None, *, mode: str = "hybrid", k: int = 5,
                 service: str = "vector_store", query_field: str = "question",
                 out_field: str = "retrieved", fetch_k: int | None = None,
                 fusion: str = "rrf", filter: Mapping[str, Any] | None = None,  # noqa: A002
                 filter_field: str = "filter", client: Any = None,
                 timeout: float = 120.0) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}")
        # BM25 never calls a model, so it needs no gateway.
        self._init_client(base_url, client, None, None, timeout, required=mode != "bm25")
        self.mode = mode
        self.k = k
        self.service = service
        self.query_field = query_field
        self.out_field = out_field
        self.fetch_k = fetch_k
        self.fusion = fusion
        self.filter = dict(filter) if filter is not None else None
        self.filter_field = filter_field

    def _search(self, query: str, vector: list[float] | None,
                flt: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        if self.mode == "bm25":
            return list(self.call_service(self.service, query, self.k, method="search_text",
                                          filter=flt))
        if self.mode == "dense":
            return list(self.call_service(self.service, vector, self.k, method="search",
                                          filter=flt))
        return list(self.call_service(self.service, query, vector, self.k, self.fetch_k,
                                      self.fusion, method="hybrid_search", filter=flt))

    def _record(self, data: Any) -> dict[str, Any]:
        return {self.query_field: data} if isinstance(data, str) else dict(data)

    def execute(self, data: Any) -> Any:
        if isinstance(data, list | tuple):
            return self.execute_batch(list(data))
        return self.execute_batch([data])[0]

    def execute_batch(self, batch: list[Any]) -> list[dict[str, Any]]:
        records = [self._record(d) for d in batch]
        queries = [str(r[self.query_field]) for r in records]
        filters = [r.get(self.filter_field, self.filter) for r in records]
        vectors: list[Any] = [None] * len(records)
        if self.mode != "bm25" and queries:
            vectors = self.client.embed(queries)  # one request for the whole batch
        if self.mode == "dense" and len(records) > 1 and all(f == filters[0] for f in filters):
            rows = self.call_service(self.service, vectors, self.k, method="search_batch",
                                     filter=filters[0])
        else:
            rows = [self._search(q, v, f) for q, v, f in zip(queries, vectors, filters,
                                                               strict=True)]
        for record, hits in zip(records, rows, strict=True):
            record[self.out_field] = list(hits)
        return records

    def close(self) -> None:
        self._close_client()
