"""Gateway overhead on a fast fake engine: added p50 and throughput ratio vs direct.

Measured with two load generators: a lean ``aiohttp`` one (the gateway's own cost
dominates) and ``httpx`` (what the openai SDK uses; its client cost dilutes the ratio).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sage.benchmark.gateway.load import run_load
from sage.common.ports import ephemeral_port
from sage.gateway.stack import ServingStack, wait_for_gateway

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


def start_fast_engine() -> tuple[str, Callable[[], None]]:
    """A fast fake engine: the engine package's if it has one, else ours."""
    port = ephemeral_port()
    url = f"http://127.0.0.1:{port}"
    proc: subprocess.Popen[bytes] | None = None
    try:
        from sage.llm.engines import fake as engine_fake  # type: ignore[attr-defined]

        proc = engine_fake.start_fake_engine(port)  # pragma: no cover - optional API
    except (ImportError, AttributeError):
        from sage.benchmark.gateway.fake_engine import start_fake_engine

        proc = start_fake_engine(port)
    wait_for_gateway(url, proc)

    def stop() -> None:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(10)

    return url, stop


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
    engine_url, stop_engine = start_fast_engine()
    runs: list[OverheadFigures] = []
    try:
        spec = f"{engine_url},kind=both,capacity={concurrency * 2}"
        with ServingStack(engine_urls=[spec], policy=policy, mode="process") as stack:
            for _ in range(repeats):
                for client in clients:
                    runs.append(
                        _one_run(
                            engine_url, stack.url, requests, concurrency, latency_requests, client
                        )
                    )
                tick()
    finally:
        stop_engine()
    return {c: _median([r for r in runs if r.client == c]) for c in clients}, runs


def _one_run(
    engine_url: str,
    gateway_url: str,
    requests: int,
    concurrency: int,
    latency_requests: int,
    client: str,
) -> OverheadFigures:
    def body(_: int) -> dict[str, Any]:
        return CHAT_BODY

    path = "/v1/chat/completions"

    def load(url: str, total: int, conc: int, warmup: int) -> Any:
        return asyncio.run(
            run_load(url, path, body, total=total, concurrency=conc, warmup=warmup, client=client)
        )

    lat_direct = load(engine_url, latency_requests, 1, 20)
    lat_gw = load(gateway_url, latency_requests, 1, 20)
    tp_direct = load(engine_url, requests, concurrency, concurrency)
    tp_gw = load(gateway_url, requests, concurrency, concurrency)
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
