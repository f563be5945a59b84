"""Replay a real run in the simulator and compare the percentiles (``--validate``).

The replay uses the run's own requests: actual send times, the prompt tokens the
engines reported and the tokens they generated, the same tenants, SLOs and baseline
(siloed or ``unified/<policy>``), on one LLM + one embedding engine sharing a host as
here. What differs is only the engines: real ones then, calibrated models now. The
check passes when every compared percentile is within ``tolerance`` (relative).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sage.benchmark.serving.baselines import options_of, policy_of
from sage.benchmark.serving.workload import Workload, WorkloadSpec
from sage.benchmark.simulator.cluster import ClusterSpec
from sage.benchmark.simulator.core import SimResult, simulate
from sage.benchmark.simulator.profiles import Calibration
from sage.benchmark.simulator.records import decode_gaps, prefill_ratios

COMPARED = (("llm", "e2e_ms"), ("llm", "ttft_ms"), ("embedding", "e2e_ms"))
GATED = {("llm", "e2e_ms"), ("embedding", "e2e_ms")}  # the acceptance check: e2e p50/p99
HIT_RATE = "prefix_hit_rate"  # a row of its own: a fraction, not milliseconds
MIN_QUIET_GAPS = 50
MIN_QUIET_PREFILLS = 10


@dataclass
class ValidationRow:
    kind: str
    metric: str
    percentile: str
    real_ms: float | None
    sim_ms: float | None
    gated: bool
    real_ci_ms: tuple[float, float] | None = None  # 90% bootstrap interval of real_ms

    @property
    def error(self) -> float | None:
        if not self.real_ms or self.sim_ms is None:
            return None
        return abs(self.sim_ms - self.real_ms) / self.real_ms

    @property
    def within_noise(self) -> bool:
        """The simulated figure lies inside the real one's own sampling interval."""
        return (
            self.sim_ms is not None
            and self.real_ci_ms is not None
            and self.real_ci_ms[0] <= self.sim_ms <= self.real_ci_ms[1]
        )


@dataclass
class Validation:
    run: str
    baseline: str
    rows: list[ValidationRow]
    tolerance: float
    sim: SimResult
    same_as: tuple[Any, ...] = ()  # runs with an equal key repeat one another

    @property
    def passed(self) -> bool:
        """Every gated figure the run has (a chats-only run has no embedding figures)
        within tolerance."""
        gated = [r for r in self.rows if r.gated and r.real_ms is not None]
        return bool(gated) and all(
            r.error is not None and r.error <= self.tolerance for r in gated
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "run": self.run,
            "baseline": self.baseline,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "rows": [
                {**r.__dict__, "error": r.error, "within_noise": r.within_noise} for r in self.rows
            ],
        }


def bootstrap_interval(
    values: list[float], percentile: float, resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """90% bootstrap interval of a percentile of ``values``: how far one run's figure
    could move from sampling alone (a p99 of 150 calls is its one or two slowest)."""
    if len(values) < 2:
        return None
    data = np.asarray(values, dtype=np.float64)
    picks = np.random.default_rng(seed).integers(0, len(data), (resamples, len(data)))
    estimates = np.percentile(data[picks], percentile, axis=1)
    low, high = np.percentile(estimates, [5, 95])
    return float(low), float(high)


def _measured(result: dict[str, Any], kind: str, metric: str) -> list[float]:
    req = result["requests"]
    column = req.get(metric.removesuffix("_ms")) or []
    return [
        1000.0 * v
        for k, outcome, v in zip(req["kind"], req["outcome"], column, strict=False)
        if k == kind and outcome == "ok" and v is not None
    ]


def replay_workload(result: dict[str, Any]) -> Workload:
    """The requests of a result file, with the token counts the engines reported."""
    req = result["requests"]
    ok = [o == "ok" for o in req["outcome"]]
    sent = [s if s is not None else t for s, t in zip(req["sent"], req["scheduled"], strict=True)]
    # Chat: the prompt tokens the engine reported (template included); embeddings: the
    # planned tokens per input (the engine's count is shared out when the gateway
    # batches, so it is not per request).
    prompt = [
        (used or planned) if kind == "llm" else planned
        for used, planned, kind in zip(
            req["input_tokens"], req["prompt_tokens"], req["kind"], strict=True
        )
    ]
    outputs = [
        out if good and kind == "llm" else (mt if kind == "llm" else 0)
        for out, mt, good, kind in zip(
            req["output_tokens"], req["max_tokens"], ok, req["kind"], strict=True
        )
    ]
    prefix, prefix_tokens = req.get("prefix"), req.get("prefix_tokens")
    if prefix is not None and prefix_tokens is not None and any(p >= 0 for p in prefix):
        prompt = [max(0, p - n) for p, n in zip(prompt, prefix_tokens, strict=True)]  # kept apart
    else:
        prefix = None
    return Workload.from_rows(
        sent,
        req["kind"],
        req["tenant"],
        prompt,
        outputs,
        req["n_inputs"],
        meta={"llm_engine_tokens": True, "replay_of": result.get("config", {}).get("baseline")},
        prefix=prefix,
        prefix_tokens=prefix_tokens,
    )


def replay_cluster(config: dict[str, Any]) -> ClusterSpec:
    """The run's engines (recorded in its config; else one LLM + one embedding engine)
    sharing this host, as in the run: as many LLM replicas (``--llm-replicas``) and
    embedding engines, the embedding ones with the capacity the gateway gave them."""
    engines = config.get("engines") or ()
    llm = sum(e.get("kinds") == ["llm"] for e in engines)
    capacities = [int(e["capacity"]) for e in engines if e.get("kinds") == ["embedding"]]
    if not engines:
        return ClusterSpec(1, 1, colocate=True)
    if capacities:
        return ClusterSpec(max(1, llm), len(capacities), True, capacities[0])
    return ClusterSpec(max(1, llm), 0, colocate=True)


def replay_llm_capacity(config: dict[str, Any]) -> int | None:
    """The slots the gateway gave each LLM engine in the run (``--llm-capacity``)."""
    slots = [int(e["capacity"]) for e in config.get("engines") or () if e.get("kinds") == ["llm"]]
    return max(slots) if slots else None


def validate_run(
    path: str | Path, calibration: Calibration, tolerance: float = 0.2, own_speed: bool = False
) -> Validation:
    """Simulate the run in ``path`` and compare p50/p99 per kind with what was measured."""
    result = json.loads(Path(path).read_text())
    return validate_result(result, calibration, tolerance, str(path), own_speed)


def run_llm_speed(
    result: dict[str, Any], calibration: Calibration
) -> tuple[float | None, float | None]:
    """How much faster the run's LLM decoded, and prefilled, than ``calibration`` says,
    from its work while no embedding call ran (the simulator applies contention itself):
    the calibrated token gap over the run's mean gap (all gaps when fewer than
    ``MIN_QUIET_GAPS`` were quiet), and the median modelled / measured prefill time
    (``None`` when fewer than ``MIN_QUIET_PREFILLS``)."""
    req = result["requests"]
    quiet, busy = decode_gaps(req)
    gaps = quiet if len(quiet) >= MIN_QUIET_GAPS else quiet + busy
    mean = float(np.mean(gaps)) if gaps else 0.0
    decode = (1.0 / calibration.llm.decode_tokens_per_s) / mean if mean > 0 else None
    quiet_prefills, _ = prefill_ratios(req, calibration.llm)
    prefill = (
        float(np.median([1.0 / r for r in quiet_prefills]))
        if len(quiet_prefills) >= MIN_QUIET_PREFILLS
        else None
    )
    return decode, prefill


def validate_result(
    result: dict[str, Any],
    calibration: Calibration,
    tolerance: float = 0.2,
    name: str = "",
    own_speed: bool = False,
    intervals: bool = True,
) -> Validation:
    """:func:`validate_run` on a loaded result. ``own_speed``: run the LLM model at the
    decode and prefill speeds this run measured, which takes the machine's drift between
    runs out of the comparison and leaves the queueing and policy model. ``intervals``:
    bootstrap the real figures' sampling intervals (off where only errors are wanted)."""
    if own_speed:
        decode, prefill = run_llm_speed(result, calibration)
        if decode:
            llm = calibration.llm.faster(decode, prefill)
            calibration = calibration.model_copy(update={"llm": llm})
    config = result["config"]
    baseline = str(config["baseline"])
    spec = WorkloadSpec.model_validate(config["workload_spec"])
    policy = policy_of(baseline)
    workload = replay_workload(result)
    slots = replay_llm_capacity(config)
    if slots and slots != calibration.llm.capacity:
        calibration = calibration.scaled(1.0, llm_capacity=slots)
    sim = simulate(
        workload, calibration, replay_cluster(config), policy, spec=spec,
        policy_options=options_of(baseline),
    )  # fmt: skip
    rows: list[ValidationRow] = []
    for kind, metric in COMPARED:
        real = result["summary"]["by_kind"].get(kind, {}).get(metric, {})
        simulated = sim.summary["by_kind"].get(kind, {}).get(metric, {})
        values = _measured(result, kind, metric) if intervals else []
        for pct in ("p50", "p99"):
            rows.append(
                ValidationRow(
                    kind,
                    metric,
                    pct,
                    real.get(pct),
                    simulated.get(pct),
                    (kind, metric) in GATED,
                    bootstrap_interval(values, float(pct[1:])),
                )
            )
    real_hits = result["summary"]["by_kind"].get("llm", {}).get("prefix_hit_rate")
    if real_hits is not None:  # a shared-prefix run: how often the prefix was cached
        sim_hits = sim.summary["by_kind"].get("llm", {}).get("prefix_hit_rate")
        rows.append(ValidationRow("llm", HIT_RATE, "-", real_hits, sim_hits, False))
    same_as = (baseline, config.get("rate"), config.get("seed"), config.get("duration_s"))
    return Validation(name, baseline, rows, tolerance, sim, (*same_as, spec.name))


def repeat_agreement(validations: list[Validation]) -> tuple[int, int]:
    """(within tolerance, compared): gated real figures of repeated runs (same baseline,
    rate, seed and workload: the same requests at the same times) against the same
    figure of each earlier repeat. The machine's own run-to-run noise, measured: no model
    of it can be checked more finely than its real runs agree with each other."""
    groups: dict[tuple[Any, ...], list[Validation]] = {}
    for v in validations:
        groups.setdefault(v.same_as, []).append(v)
    within = compared = 0
    for runs in groups.values():
        for i, earlier in enumerate(runs):
            for later in runs[i + 1 :]:
                for a, b in zip(earlier.rows, later.rows, strict=True):
                    if a.gated and a.real_ms and b.real_ms is not None:
                        compared += 1
                        within += abs(b.real_ms - a.real_ms) / a.real_ms <= earlier.tolerance
    return within, compared


def median_error(validations: list[Validation]) -> float | None:
    errors = [r.error for v in validations for r in v.rows if r.gated and r.error is not None]
    return float(np.median(errors)) if errors else None
