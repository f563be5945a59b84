"""``Rerank``: reorder retrieved chunks by query-passage embedding similarity (one
batched embedding call per record), optionally diversified with MMR.

The embedded default models include no cross-encoder; cosine over the embedding model
is the reranker the control plane can serve, and MMR removes near-duplicates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sage.kernel import MapFunction
from sage.libs.retrieval import cosine_matrix, mmr
from sage.middleware.operators.base import ModelCalling


class Rerank(ModelCalling, MapFunction):
    """Keeps the best ``k`` of ``field`` (``lambda_ < 1`` trades relevance for diversity)."""

    def __init__(self, base_url: str | None = None, *, k: int = 3, field: str = "retrieved",
                 query_field: str = "question", lambda_: float = 1.0,
                 model: str | None = None, client: Any = None, timeout: float = 120.0) -> None:
        self._init_client(base_url, client, None, model, timeout)
        self.k = k
        self.field = field
        self.query_field = query_field
        self.lambda_ = lambda_

    def execute(self, data: dict[str, Any]) -> dict[str, Any]:
        passages = list(data.get(self.field) or [])
        record = dict(data)
        if not passages:
            record[self.field] = []
            return record
        vectors = np.asarray(self.client.embed(
            [str(data[self.query_field])] + [p["text"] for p in passages]), dtype=np.float32)
        query, cand = vectors[0], vectors[1:]
        if self.lambda_ < 1.0:
            order = mmr(query, cand, self.k, self.lambda_)
        else:
            order = list(np.argsort(-cosine_matrix(query, cand)[0], kind="stable")[: self.k])
        sims = cosine_matrix(query, cand)[0]
        record[self.field] = [{**passages[i], "rerank_score": float(sims[i])} for i in order]
        return record

    def close(self) -> None:
        self._close_client()
