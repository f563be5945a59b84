"""Run baselines back to back over the same workload and keep every run's results.

For each rate (and repeat) the workload is drawn once from the seed and sent to every
baseline in turn; between runs the system is drained (a tiny barrier request per engine
returns only when what was queued before it has finished), so one run's leftovers never
slow the next. With a victim tenant, the victim's requests alone (same times, same
lengths) are also run: the reference of the interference metric.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sage.benchmark.serving.baselines import (
    SILOED,
    clear_prefix_caches,
    gateway_engines,
    gateway_policy,
    options_of,
    policy_of,
    set_gateway_policy,
    wait_idle,
)
from sage.benchmark.serving.batch_sizes import batch_stats, read_counters
from sage.benchmark.serving.client import RequestRecord, send_chat, send_embedding
from sage.benchmark.serving.environment import Endpoints
from sage.benchmark.serving.metrics import check_consistency, summarize
from sage.benchmark.serving.prefixes import oracle_of
from sage.benchmark.serving.report import RunEntry, save_run
from sage.benchmark.serving.runner import Target, run_workload
from sage.benchmark.serving.workload import SLO, Workload, WorkloadSpec, generate
from sage.common.errors import ConfigError


@dataclass
class SuiteConfig:
    spec: WorkloadSpec
    rates: list[float]
    duration_s: float
    baselines: list[str]
    seed: int = 0
    repeats: int = 1
    victim: str | None = None
    interference: bool = True
    alone_per_baseline: bool = False
    timeout_s: float = 300.0
    drain_timeout_s: float = 60.0
    warmup_s: float = 0.0  # requests scheduled before this are sent but not measured
    trace: Workload | None = None  # replayed as is instead of generated (rates ignored)
    client: str = "httpx"  # or "openai": the official SDK
    extra: dict[str, Any] = field(default_factory=dict)

    def workload(self, rate: float, repeat: int) -> Workload:
        if self.trace is not None:
            return self.trace
        return generate(self.spec, rate, duration=self.duration_s, seed=self.seed + repeat)


def slo_table(spec: WorkloadSpec) -> dict[tuple[str, int], SLO]:
    return {(t.name, kind): t.slo(kind) for t in spec.tenants for kind in (0, 1)}


def default_victim(spec: WorkloadSpec) -> str | None:
    """The most urgent tenant, when there is a neighbour to suffer from."""
    if len(spec.tenants) < 2:
        return None
    return max(spec.tenants, key=lambda t: t.priority).name


def target_for(baseline: str, endpoints: Endpoints) -> Target:
    if baseline == SILOED:
        return Target.engines(endpoints.llm_url, endpoints.embedding_url)
    if endpoints.gateway_url is None:
        raise ConfigError(f"{baseline} needs a gateway")
    return Target.gateway(baseline, endpoints.gateway_url, endpoints.api_key)


async def _barrier(endpoints: Endpoints) -> None:
    """Return once both engines have finished everything sent before."""
    headers = {"authorization": f"Bearer {endpoints.api_key}"} if endpoints.api_key else {}
    async with httpx.AsyncClient(timeout=600.0) as client:
        chat = RequestRecord(0, 0, "barrier", 0.0, max_tokens=1)
        emb = RequestRecord(0, 1, "barrier", 0.0)
        await asyncio.gather(
            send_chat(client, endpoints.llm_url, "default", "hi", chat, headers, 0),
            send_embedding(client, endpoints.embedding_url, "default", ["hi"], emb, headers),
        )


def drain(endpoints: Endpoints) -> None:
    wait_idle(endpoints.gateway_url)
    asyncio.run(_barrier(endpoints))


def run_one(
    cfg: SuiteConfig,
    endpoints: Endpoints,
    baseline: str,
    workload: Workload,
    rate: float,
    repeat: int,
    out_dir: Path,
    *,
    alone: bool = False,
    progress: Any = None,
) -> RunEntry:
    """One run of ``workload`` against ``baseline``; writes its result file."""
    policy = policy_of(baseline)
    if policy is not None and endpoints.gateway_url is not None:
        set_gateway_policy(endpoints.gateway_url, policy, endpoints.api_key,
                           options_of(baseline), reset=True)  # fmt: skip
    drain(endpoints)
    budgets = clear_prefix_caches(endpoints.gateway_url) if workload.prefix is not None else []
    counters = read_counters(endpoints.embedding_url, endpoints.gateway_url)
    label = f"{baseline} @ {rate:g}/s" + (f" ({cfg.victim} alone)" if alone else "")
    task = progress.add_task(label, total=len(workload)) if progress is not None else None

    def advance(_: RequestRecord) -> None:
        if progress is not None:
            progress.advance(task)

    result = asyncio.run(
        run_workload(
            workload,
            cfg.spec,
            target_for(baseline, endpoints),
            seed=cfg.seed + repeat,
            timeout_s=cfg.timeout_s,
            drain_timeout_s=cfg.drain_timeout_s,
            on_done=advance,
            client=cfg.client,
        )
    )
    if progress is not None:
        progress.remove_task(task)
    batches = batch_stats(counters, read_counters(endpoints.embedding_url, endpoints.gateway_url))
    outcomes = result.outcomes(since=cfg.warmup_s)
    summary = summarize(outcomes, slo_table(cfg.spec), result.duration_s - cfg.warmup_s)
    summary["embedding_batches"] = batches
    problems = check_consistency(summary)
    config = {
        "baseline": baseline,
        "policy": policy,
        "policy_options": options_of(baseline),
        "prefix_caches_cleared": len(budgets),
        "prefix_cache_budget_bytes": budgets,
        "rate": rate,
        "repeat": repeat,
        "seed": cfg.seed + repeat,
        "duration_s": cfg.duration_s,
        "alone": alone,
        "client": cfg.client,
        "victim": cfg.victim,
        "workload": cfg.spec.name,
        "workload_spec": cfg.spec.model_dump(),
        "trace": workload.meta.get("trace"),
        "oracle_prefix_hit_rate": oracle_of(workload, cfg.warmup_s),
        "warmup_s": cfg.warmup_s,
        "llm_url": endpoints.llm_url,
        "embedding_url": endpoints.embedding_url,
        "gateway_url": endpoints.gateway_url,
        "engines": gateway_engines(endpoints.gateway_url) if policy is not None else [],
        "started_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(result.started_at)),
        "load_avg": list(result.load_avg),
        "consistency_problems": problems,
        **cfg.extra,
    }
    name = f"r{rate:g}_{baseline.replace('/', '-')}_{repeat}{'_alone' if alone else ''}.json"
    path = save_run(out_dir / "runs" / name, config, summary, result.requests_table())
    return RunEntry(rate, baseline, repeat, summary, outcomes, str(path), alone)


def run_suite(
    cfg: SuiteConfig, endpoints: Endpoints, out_dir: Path, progress: Any = None
) -> list[RunEntry]:
    """Every baseline at every rate (and repeat), plus the victim-alone references; the
    gateway gets its policy back afterwards."""
    original = (
        gateway_policy(endpoints.gateway_url, endpoints.api_key)
        if (endpoints.gateway_url and any(policy_of(b) for b in cfg.baselines))
        else None
    )
    try:
        return _run_all(cfg, endpoints, out_dir, progress)
    finally:
        if original is not None and endpoints.gateway_url is not None:
            set_gateway_policy(endpoints.gateway_url, original, endpoints.api_key)


def _run_all(
    cfg: SuiteConfig, endpoints: Endpoints, out_dir: Path, progress: Any
) -> list[RunEntry]:
    entries: list[RunEntry] = []
    overall = None
    if progress is not None:
        per_rate = len(cfg.baselines) + (
            (len(cfg.baselines) if cfg.alone_per_baseline else 1)
            if cfg.interference and cfg.victim
            else 0
        )
        overall = progress.add_task("runs", total=len(cfg.rates) * cfg.repeats * per_rate)
    rates = cfg.rates if cfg.trace is None else [float(cfg.trace.meta.get("rate") or 0.0)]
    for rate in rates:
        for repeat in range(cfg.repeats):
            workload = cfg.workload(rate, repeat)
            for baseline in cfg.baselines:
                entries.append(
                    run_one(cfg, endpoints, baseline, workload, rate, repeat, out_dir,
                            progress=progress)
                )  # fmt: skip
                if overall is not None:
                    progress.advance(overall)
            if cfg.interference and cfg.victim:
                victim_only = workload.only_tenant(cfg.victim)
                alone_baselines = cfg.baselines if cfg.alone_per_baseline else [cfg.baselines[0]]
                for baseline in alone_baselines:
                    entries.append(
                        run_one(cfg, endpoints, baseline, victim_only, rate, repeat, out_dir,
                                alone=True, progress=progress)
                    )  # fmt: skip
                    if overall is not None:
                        progress.advance(overall)
    return entries


def warm_up(endpoints: Endpoints) -> None:
    """A first chat and embedding on each path, so no run pays for cold caches."""
    drain(endpoints)
    if endpoints.gateway_url is not None:
        gw = Endpoints(endpoints.gateway_url, endpoints.gateway_url, None, endpoints.api_key)
        asyncio.run(_barrier(gw))
