"""Embedding throughput at saturation: gateway micro-batching vs one request per call.

Many concurrent clients each send one sentence. Four setups, the same load:

* ``batched``: the gateway's default policy (``hybrid``) merges them into batched
  ``/v1/embeddings`` calls, the engine at its own capacity;
* ``one_per_call``: ``fifo`` and one engine slot, so every model call embeds one
  sentence (a gateway without batching in front of an engine that cannot batch);
* ``engine_batching``: ``fifo`` at the engine's own capacity (8 by default), so the
  engine's micro-batcher merges the calls it holds at once: what the gateway's batching
  adds over the engine's own;
* ``direct``: straight to the engine, no gateway: the ceiling the gateway is held to.

The setups are switched through the admin API (policy, engine capacity), so the figures
do not depend on any policy's option names.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
    unbatched_per_s: float  # one sentence per model call
    ratio: float  # batched / one per call (target >= 4)
    engine_batching_per_s: float  # no gateway batching; the engine merges held calls
    ratio_to_engine_batching: float
    direct_per_s: float  # the engine alone, same clients
    gateway_efficiency: float  # batched / direct
    concurrency: int
    requests: int
    runs: dict[str, list[float]] = field(default_factory=dict)  # per setup, per round

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GatewayControls:
    """How the benchmark switches the gateway: ``set_policy(name)`` (its defaults) and
    ``set_capacity(n)`` of the embedding engine (``None``: its own)."""

    url: str
    engine_url: str
    set_policy: Callable[[str], None]
    set_capacity: Callable[[int | None], None]


def embedding_rate(url: str, *, requests: int, concurrency: int) -> float:
    def body(i: int) -> dict[str, Any]:
        return {"model": "default", "input": SENTENCES[i % 3].format(i=i)}

    result = asyncio.run(
        run_load(url, "/v1/embeddings", body, total=requests, concurrency=concurrency, warmup=4)
    )
    return result.throughput


SETUPS: dict[str, tuple[str | None, int | None]] = {  # name -> (policy, engine capacity)
    "batched": ("hybrid", None),
    "one_per_call": ("fifo", 1),
    "engine_batching": ("fifo", None),
    "direct": (None, None),
}


def measure_embeddings(
    controls: GatewayControls,
    *,
    requests: int,
    concurrency: int,
    repeats: int,
    tick: Callable[[], None] = lambda: None,
) -> EmbeddingFigures:
    """Every setup once per repeat, interleaved (all see the same machine load)."""
    runs: dict[str, list[float]] = {name: [] for name in SETUPS}
    try:
        for _ in range(repeats):
            for name, (policy, capacity) in SETUPS.items():
                url = controls.engine_url
                if policy is not None:
                    controls.set_capacity(capacity)
                    controls.set_policy(policy)
                    url = controls.url
                runs[name].append(embedding_rate(url, requests=requests, concurrency=concurrency))
                tick()
    finally:
        controls.set_capacity(None)
    m = {name: statistics.median(v) for name, v in runs.items()}

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    return EmbeddingFigures(
        batched_per_s=m["batched"],
        unbatched_per_s=m["one_per_call"],
        ratio=ratio(m["batched"], m["one_per_call"]),
        engine_batching_per_s=m["engine_batching"],
        ratio_to_engine_batching=ratio(m["batched"], m["engine_batching"]),
        direct_per_s=m["direct"],
        gateway_efficiency=ratio(m["batched"], m["direct"]),
        concurrency=concurrency,
        requests=requests,
        runs=runs,
    )
