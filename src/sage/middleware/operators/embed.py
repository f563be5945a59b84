"""``Embed``: text -> vector through the gateway's ``/v1/embeddings``.

Use it with ``stream.map_batches(Embed, url)``: each micro-batch is embedded in ONE
request (the embedding engine batches, ~5x faster than one text per call on CPU).
``stream.map(Embed, url)`` embeds record by record (a list record still counts as a
batch, for streams of pre-made batches).
"""

from __future__ import annotations

from typing import Any

from sage.kernel import MapFunction
from sage.middleware.operators.base import ModelCalling


class Embed(ModelCalling, MapFunction):
    """``str`` -> vector; ``dict`` -> dict with ``out_field``. ``execute_batch`` (what
    ``map_batches`` calls) embeds a list of either in one request (split into
    ``batch_size`` pieces when longer)."""

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

    def execute_batch(self, records: list[Any]) -> list[Any]:
        vectors = self.embed_texts([self._text(x) for x in records])
        return [self._attach(x, v) for x, v in zip(records, vectors, strict=True)]

    def execute(self, data: Any) -> Any:
        if isinstance(data, list | tuple):
            return self.execute_batch(list(data))
        return self.execute_batch([data])[0]

    def close(self) -> None:
        self._close_client()
