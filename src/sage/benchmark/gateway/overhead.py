"""Gateway overhead on the fake engine (``sage.llm.engines.fake``, real HTTP, instant
answers): added p50 and throughput ratio, gateway vs direct.

Same client, same body, same warm-up for both paths; the gateway runs in its own
process. Measured with two load generators: a lean ``aiohttp`` one (the gateway's own
cost dominates) and ``httpx`` (what the openai SDK uses; its client cost dilutes the
ratio).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sage.benchmark.gateway.load import run_load
from sage.gateway.stack import ServingStack
from sage.llm.engine_manager import EngineManager
from sage.llm.engines.spec import EngineSpec

CHAT_BODY = {
    "model": "default",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 1,
}
CLIENTS = ("aiohttp", "httpx")


@dataclass
class OverheadFigures:
    client: str
    direct_p50_ms: float
    gateway_p50_ms: float
    added_p50_ms: float
    direct_rps: float
    gateway_rps: float
    throughput_ratio: float
    errors: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_overhead(
    *,
    requests: int,
    concurrency: int,
    latency_requests: int,
    repeats: int,
    policy: str = "fifo",
    clients: tuple[str, ...] = CLIENTS,
    tick: Callable[[], None] = lambda: None,
) -> tuple[dict[str, OverheadFigures], list[OverheadFigures]]:
    """Median figures per load generator over ``repeats`` runs (gateway in its own process)."""
    runs: list[OverheadFigures] = []
    # The fake engine answers at once; capacity above the client count, so the
    # gateway never queues and only its own cost is measured.
    fake = EngineSpec(kind="both", backend="fake", capacity=concurrency * 2)
    with EngineManager(persist=False) as manager:
        engine = manager.start(fake)
        with ServingStack(engines=[engine], policy=policy, mode="process") as stack:
            for repeat in range(repeats):
                for client in clients:
                    runs.append(
                        _one_run(
                            {"direct": engine.url, "gateway": stack.url},
                            requests,
                            concurrency,
                            latency_requests,
                            client,
                            gateway_first=repeat % 2 == 1,  # no order bias in the medians
                        )
                    )
                tick()
    return {c: _median([r for r in runs if r.client == c]) for c in clients}, runs


def _one_run(
    urls: dict[str, str],
    requests: int,
    concurrency: int,
    latency_requests: int,
    client: str,
    gateway_first: bool,
) -> OverheadFigures:
    """Sequential p50, then throughput at ``concurrency``, for both paths."""

    def body(_: int) -> dict[str, Any]:
        return CHAT_BODY

    path = "/v1/chat/completions"

    def load(url: str, total: int, conc: int, warmup: int) -> Any:
        return asyncio.run(
            run_load(url, path, body, total=total, concurrency=conc, warmup=warmup, client=client)
        )

    order = sorted(urls, reverse=gateway_first)  # "direct", "gateway" or the reverse
    lat = {name: load(urls[name], latency_requests, 1, 20) for name in order}
    tp = {name: load(urls[name], requests, concurrency, concurrency) for name in order}
    lat_direct, lat_gw, tp_direct, tp_gw = (
        lat["direct"],
        lat["gateway"],
        tp["direct"],
        tp["gateway"],
    )
    return OverheadFigures(
        client=client,
        direct_p50_ms=lat_direct.p50_ms,
        gateway_p50_ms=lat_gw.p50_ms,
        added_p50_ms=lat_gw.p50_ms - lat_direct.p50_ms,
        direct_rps=tp_direct.throughput,
        gateway_rps=tp_gw.throughput,
        throughput_ratio=tp_gw.throughput / tp_direct.throughput if tp_direct.throughput else 0,
        errors=lat_direct.errors + lat_gw.errors + tp_direct.errors + tp_gw.errors,
    )


def _median(runs: list[OverheadFigures]) -> OverheadFigures:
    values: dict[str, Any] = {"client": runs[0].client}
    for name in OverheadFigures.__dataclass_fields__:
        if name == "client":
            continue
        column = [getattr(r, name) for r in runs]
        values[name] = sum(column) if name == "errors" else statistics.median(column)
    return OverheadFigures(**values)
