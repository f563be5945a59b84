"""``Embed``: text -> vector through the gateway's ``/v1/embeddings``.

A list record is embedded in ONE request (the embedding engine batches, ~5x faster
than one text per call on CPU), so feed it batches of texts/records to index fast.
"""

from __future__ import annotations

from typing import Any

from sage.kernel import MapFunction
from sage.middleware.operators.base import ModelCalling


class Embed(ModelCalling, MapFunction):
    """``str`` -> vector; ``dict`` -> dict with ``out_field``; ``list`` of either -> list,
    in one request (split into ``batch_size`` pieces when longer)."""

    def __init__(self, base_url: str | None = None, *, field: str = "text",
                 out_field: str = "embedding", model: str | None = None,
                 batch_size: int = 64, client: Any = None, timeout: float = 120.0) -> None:
        self._init_client(base_url, client, None, model, timeout)
        self.field = field
        self.out_field = out_field
        self.batch_size = batch_size

    def _text(self, item: Any) -> str:
        return item if isinstance(item, str) else str(item[self.field])

    def embed_texts(self, texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(self.client.embed(texts[start:start + self.batch_size]))
        return vectors

    def _attach(self, item: Any, vector: list[float]) -> Any:
        return vector if isinstance(item, str) else {**item, self.out_field: vector}

    def execute(self, data: Any) -> Any:
        if isinstance(data, list | tuple):
            vectors = self.embed_texts([self._text(x) for x in data])
            return [self._attach(x, v) for x, v in zip(data, vectors, strict=True)]
        return self._attach(data, self.embed_texts([self._text(data)])[0])

    def close(self) -> None:
        self._close_client()
