"""Embedding throughput at saturation: hybrid micro-batching vs one request per call.

Many concurrent clients each send one sentence. With ``hybrid`` the gateway merges
them into batched ``/v1/embeddings`` calls; the baseline sends them one per call
(``fifo`` with one engine slot), as a gateway without batching would.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sage.benchmark.gateway.load import run_load

SENTENCES = [
    "The quick brown fox jumps over the lazy dog number {i}.",
    "Retrieval augmented generation pipelines need fast embeddings ({i}).",
    "A lighthouse keeper watched ship {i} pass in the night.",
]


@dataclass
class EmbeddingFigures:
    batched_per_s: float
    unbatched_per_s: float
    ratio: float
    concurrency: int
    requests: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def embedding_rate(url: str, *, requests: int, concurrency: int) -> float:
    def body(i: int) -> dict[str, Any]:
        return {"model": "default", "input": SENTENCES[i % 3].format(i=i)}

    result = asyncio.run(
        run_load(url, "/v1/embeddings", body, total=requests, concurrency=concurrency, warmup=4)
    )
    return result.throughput


def measure_embeddings(
    set_policy: Callable[[str, dict[str, Any]], None],
    url: str,
    *,
    requests: int,
    concurrency: int,
    repeats: int,
    tick: Callable[[], None] = lambda: None,
) -> EmbeddingFigures:
    """``set_policy(name, options)`` switches the gateway between the two setups."""
    batched, unbatched = [], []
    for _ in range(repeats):
        set_policy("hybrid", {"batch_size": 32, "max_wait_s": 0.02})
        batched.append(embedding_rate(url, requests=requests, concurrency=concurrency))
        tick()
        set_policy("hybrid", {"batch_size": 1, "max_wait_s": 0.0})
        unbatched.append(embedding_rate(url, requests=requests, concurrency=concurrency))
        tick()
    b, u = statistics.median(batched), statistics.median(unbatched)
    return EmbeddingFigures(b, u, b / u if u else 0.0, concurrency, requests)
