"""Which engines a simulation runs, and the request rate they can sustain.

``capacity_rate`` turns "utilisation 0.8" into a request rate for a workload, from the
same performance model the simulator uses; ``sage bench compare --rates auto`` and
``sage bench simulate --utilization`` pick their load levels with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sage.benchmark.serving.workload import LengthDist, TenantSpec, WorkloadSpec
from sage.benchmark.simulator.profiles import Calibration
from sage.common.errors import ConfigError
from sage.llm.engines.spec import DEFAULT_EMBEDDING_CAPACITY


@dataclass(frozen=True)
class ClusterSpec:
    """``llm`` + ``embedding`` engines; ``colocate`` pairs them on shared hosts (as here:
    one LLM and one embedding engine on the same 2 cores). ``embedding_capacity`` is
    what the gateway registers per embedding engine (as ``sage llm serve`` does: the
    engine's own micro-batcher merges the calls it holds at once)."""

    llm_engines: int = 1
    embedding_engines: int = 1
    colocate: bool = True
    embedding_capacity: int = DEFAULT_EMBEDDING_CAPACITY

    @property
    def size(self) -> int:
        return self.llm_engines + self.embedding_engines

    @classmethod
    def split(
        cls,
        engines: int,
        spec: WorkloadSpec,
        calibration: Calibration,
        colocate: bool = False,
        embedding_capacity: int = DEFAULT_EMBEDDING_CAPACITY,
    ) -> ClusterSpec:
        """``engines`` divided between the kinds in proportion to their modelled work."""
        if engines < 2:
            raise ConfigError("a mixed workload needs at least 2 engines")
        llm_work, emb_work = work_per_request(spec, calibration)
        llm_share = llm_work / (llm_work + emb_work) if llm_work + emb_work else 0.5
        n_llm = min(engines - 1, max(1, round(engines * llm_share)))
        return cls(n_llm, engines - n_llm, colocate, embedding_capacity)


def work_per_request(spec: WorkloadSpec, calibration: Calibration) -> tuple[float, float]:
    """Mean engine-seconds per request of the workload on each kind (unbatched, alone)."""
    llm, emb = calibration.llm, calibration.embedding
    total = sum(t.weight for t in spec.tenants)
    llm_work = emb_work = 0.0
    for t in spec.tenants:
        share = t.weight / total
        prompt = _mean(t.prompt_tokens) + llm.template_tokens + _mean_prefix(t)
        out = _mean(t.output_tokens)
        per_chat = llm.ttft_s(prompt) + max(0.0, out - 1) * llm.itl_s(1)
        llm_work += share * t.llm_fraction * per_chat / _parallelism(calibration)
        items = max(1, round(_mean(t.embedding_inputs)))
        width = _mean(t.embedding_tokens) + emb.extra_tokens_per_input
        emb_work += share * (1 - t.llm_fraction) * emb.batch_s(items, width)
    return llm_work, emb_work


def capacity_rate(spec: WorkloadSpec, calibration: Calibration, cluster: ClusterSpec) -> float:
    """Total request rate at which the busier engine pool is 100% busy (no contention,
    no batching gains: a conservative figure for LLM-bound mixes)."""
    llm_work, emb_work = work_per_request(spec, calibration)
    limits = []
    if llm_work > 0:
        limits.append(cluster.llm_engines / llm_work)
    if emb_work > 0:
        limits.append(cluster.embedding_engines / emb_work)
    return min(limits) if limits else float("inf")


def _parallelism(calibration: Calibration) -> float:
    c = calibration.llm.capacity
    return c / (1.0 + calibration.llm.batch_slowdown * (c - 1))


def _mean_prefix(tenant: TenantSpec) -> float:
    """Prefix tokens a chat sends, as if none were cached (a session's history: half full)."""
    if tenant.sessions:
        return (tenant.prefix_tokens + tenant.max_history_tokens) / 2
    return float(tenant.prefix_tokens)


def _mean(dist: LengthDist) -> float:
    if dist.dist == "fixed":
        return float(dist.value)
    if dist.dist == "uniform":
        return (dist.min + dist.max) / 2
    return float(min(max(dist.mean, dist.min), dist.max))  # clipping ignored: close enough
