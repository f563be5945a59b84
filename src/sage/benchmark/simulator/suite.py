"""Simulated counterpart of ``bench compare``: every baseline at every rate, same seed.

Returns the same :class:`RunEntry` list as the real benchmark, so the same report is
written. Per-request outcomes are thinned to a sample for the CDF plots; summaries are
computed on all requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sage.benchmark.serving.baselines import options_of, policy_of
from sage.benchmark.serving.metrics import Outcomes
from sage.benchmark.serving.report import RunEntry
from sage.benchmark.serving.workload import Workload, WorkloadSpec, generate
from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.core import SimResult, Simulation
from sage.benchmark.simulator.profiles import Calibration

CDF_SAMPLE = 20_000


@dataclass
class SimSuiteConfig:
    spec: WorkloadSpec
    calibration: Calibration
    cluster: ClusterSpec
    rates: list[float]
    baselines: list[str]
    requests: int | None = None
    duration_s: float | None = None
    seed: int = 0
    victim: str | None = None
    exact: bool = False
    trace: Workload | None = None
    max_queue: int = 1024  # the control plane's queue bound (the gateway's default)

    def workload(self, rate: float) -> Workload:
        if self.trace is not None:
            return self.trace
        return generate(self.spec, rate, duration=self.duration_s, n=self.requests, seed=self.seed)


def thin(outcomes: Outcomes, limit: int = CDF_SAMPLE, seed: int = 0) -> Outcomes:
    """A random sample of rows (enough for a CDF); ITL data is dropped."""
    n = len(outcomes)
    rows = (
        np.arange(n)
        if n <= limit
        else np.sort(np.random.default_rng(seed).choice(n, limit, replace=False))
    )
    return Outcomes(
        outcomes.kind[rows],
        outcomes.tenant[rows],
        outcomes.tenants,
        outcomes.outcome[rows],
        outcomes.ttft[rows],
        outcomes.e2e[rows],
        outcomes.output_tokens[rows],
        outcomes.input_tokens[rows],
        np.zeros(0),
        np.zeros(0, dtype=np.int64),
    )


Progress = Callable[[str, int, int], None]  # (run label, requests arrived, requests)


def run_sim_suite(
    cfg: SimSuiteConfig,
    on_result: Callable[[SimResult, float, bool], None] | None = None,
    progress: Progress | None = None,
) -> list[RunEntry]:
    """Simulate every baseline at every rate, plus the victim alone (siloed) per rate;
    a baseline runs its policy with the baseline's options (``prefix_aware_precise``)."""
    entries: list[RunEntry] = []
    rates = cfg.rates if cfg.trace is None else [float(cfg.trace.meta.get("rate") or 0.0)]
    for rate in rates:
        workload = cfg.workload(rate)
        runs = [(b, workload, False) for b in cfg.baselines]
        if cfg.victim is not None:
            runs.append((cfg.baselines[0], workload.only_tenant(cfg.victim), True))
        for baseline, w, alone in runs:
            label = f"{baseline} @ {rate:g}/s{' (victim alone)' if alone else ''}"
            result = Simulation(
                w,
                cfg.calibration,
                cfg.cluster,
                policy_of(baseline),
                spec=cfg.spec,
                exact=cfg.exact,
                max_queue=cfg.max_queue,
                policy_options=options_of(baseline),
            ).run(None if progress is None else lambda done, n, at=label: progress(at, done, n))
            result.baseline = baseline
            result.summary["sim"] = {
                "wall_s": result.wall_s,
                "events": result.events,
                "requests": result.requests,
            }
            entries.append(
                RunEntry(rate, baseline, 0, result.summary, thin(result.outcomes), None, alone)
            )
            if on_result is not None:
                on_result(result, rate, alone)
    return entries
