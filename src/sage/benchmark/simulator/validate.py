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
from sage.benchmark.serving.metrics import summarize
from sage.benchmark.serving.workload import WorkloadSpec
from sage.benchmark.simulator.core import SimResult, Simulation
from sage.benchmark.simulator.prefix_cache import DEFAULT_CACHE_TOKENS, KV_BYTES_PER_TOKEN
from sage.benchmark.simulator.profiles import Calibration, LLMProfile
from sage.benchmark.simulator.records import decode_gaps, prefill_ratios
from sage.benchmark.simulator.replay import (
    build_replay,
    cold_prefill_speed,
    measured_outcomes,
    prefix_load_s,
    replay_cache_tokens,
    replay_cluster,
    replay_llm_capacity,
    replay_workload,
    unfinished_at,
)

__all__ = ["replay_cluster", "replay_llm_capacity", "replay_workload", "validate_run"]

COMPARED = (("llm", "e2e_ms"), ("llm", "ttft_ms"), ("embedding", "e2e_ms"))
GATED = {("llm", "e2e_ms"), ("embedding", "e2e_ms")}  # the acceptance check: e2e p50/p99
HIT_RATE = "prefix_hit_rate"  # a row of its own: a fraction, not milliseconds
MIN_QUIET_GAPS = 50
MIN_QUIET_PREFILLS = 10
# A prefix-cache hit on the llama engine (restore the state, evaluate the rest) in
# seconds of the calibrated engine: 0.117-0.132 s measured on the quiet-machine
# shared-prefix-small runs at 0.41-0.45x the calibrated decode speed.
HIT_LOAD_S = 0.055


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
    """The run's values of ``metric`` over its measured window (after its warm-up)."""
    req = result["requests"]
    column = req.get(metric.removesuffix("_ms")) or []
    since = float(result.get("config", {}).get("warmup_s") or 0.0)
    scheduled = req.get("scheduled") or [since] * len(req["kind"])
    return [
        1000.0 * v
        for k, outcome, v, t in zip(req["kind"], req["outcome"], column, scheduled, strict=False)
        if k == kind and outcome == "ok" and v is not None and t >= since
    ]


@dataclass(frozen=True)
class CacheModel:
    """How big the replayed engines' prefix caches are: the run's recorded budget, else
    ``default_mb`` (else the simulator's default), at ``kv_bytes_per_token``."""

    default_mb: float | None = None
    kv_bytes_per_token: int = KV_BYTES_PER_TOKEN

    def tokens(self, config: dict[str, Any]) -> int:
        default = None if self.default_mb is None else int(self.default_mb * 2**20)
        tokens = replay_cache_tokens(config, self.kv_bytes_per_token, default)
        return DEFAULT_CACHE_TOKENS if tokens is None else tokens


def validate_run(
    path: str | Path, calibration: Calibration, tolerance: float = 0.2, own_speed: bool = False,
    cache: CacheModel | None = None,
) -> Validation:  # fmt: skip
    """Simulate the run in ``path`` and compare p50/p99 per kind with what was measured."""
    result = json.loads(Path(path).read_text())
    return validate_result(result, calibration, tolerance, str(path), own_speed, cache=cache)


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
    if req.get("cached_tokens") and "ttft" in req:  # prefix caching: time the cold chats
        slots = run_llm_slots(result.get("config", {}), calibration)
        cold = cold_prefill_speed(req, calibration.llm, slots)
        if cold is not None:
            return decode, cold
    quiet_prefills, _ = prefill_ratios(req, calibration.llm)
    prefill = (
        float(np.median([1.0 / r for r in quiet_prefills]))
        if len(quiet_prefills) >= MIN_QUIET_PREFILLS
        else None
    )
    return decode, prefill


def run_llm_slots(config: dict[str, Any], calibration: Calibration) -> int:
    """LLM slots of the whole run: replicas x slots each."""
    each = replay_llm_capacity(config) or calibration.llm.capacity
    return each * replay_cluster(config).llm_engines


def run_prefix_load_s(
    result: dict[str, Any], llm: LLMProfile, calibrated: LLMProfile
) -> float | None:
    """What a prefix-cache hit cost the run's engines beyond ``llm``'s (the run's speeds)
    prefill of the uncached rest: measured on its unqueued hits, else, on a run too loaded
    to have them, :data:`HIT_LOAD_S` slowed down as its decoding was against
    ``calibrated``. ``None``: no cached tokens recorded."""
    req, config = result["requests"], result.get("config", {})
    if not req.get("cached_tokens") or "ttft" not in req:
        return None
    slots = (replay_llm_capacity(config) or llm.capacity) * replay_cluster(config).llm_engines
    measured = prefix_load_s(req, llm, slots)
    if measured is not None:
        return measured
    return HIT_LOAD_S * calibrated.decode_tokens_per_s / llm.decode_tokens_per_s


def without_deadlines(spec: WorkloadSpec) -> WorkloadSpec:
    """``spec`` with no deadline sent: the replay of a run whose gateway refused nothing
    (run before deadline expiry, or never late) must not expire what it answered late."""
    tenants = [t.model_copy(update={"send_deadline": False}) for t in spec.tenants]
    return spec.model_copy(update={"tenants": tenants})


def validate_result(
    result: dict[str, Any],
    calibration: Calibration,
    tolerance: float = 0.2,
    name: str = "",
    own_speed: bool = False,
    intervals: bool = True,
    cache: CacheModel | None = None,
) -> Validation:
    """:func:`validate_run` on a loaded result. ``own_speed``: run the LLM model at the
    decode and prefill speeds this run measured, which takes the machine's drift between
    runs out of the comparison and leaves the queueing and policy model. ``intervals``:
    bootstrap the real figures' sampling intervals (off where only errors are wanted)."""
    if own_speed:
        decode, prefill = run_llm_speed(result, calibration)
        if decode:
            llm = calibration.llm.faster(decode, prefill)
            load = run_prefix_load_s(result, llm, calibration.llm)
            if load is not None:
                llm = llm.model_copy(update={"prefix_load_s": load})
            calibration = calibration.model_copy(update={"llm": llm})
    config = result["config"]
    baseline = str(config["baseline"])
    spec = WorkloadSpec.model_validate(config["workload_spec"])
    if "rejected" not in result["requests"]["outcome"]:
        spec = without_deadlines(spec)
    policy = policy_of(baseline)
    replay = build_replay(result)
    slots = replay_llm_capacity(config)
    if slots and slots != calibration.llm.capacity:
        calibration = calibration.scaled(1.0, llm_capacity=slots)
    simulation = Simulation(
        replay.workload, calibration, replay_cluster(config), policy, spec=spec,
        policy_options=options_of(baseline), prompt_hashes=replay.hashes,
        prefix_cache_tokens=(cache or CacheModel()).tokens(config),
    )  # fmt: skip
    sim = simulation.run()
    summary = sim.summary
    warmup = float(config.get("warmup_s") or 0.0)
    outcomes = sim.outcomes
    if "error" in result["requests"]["outcome"]:  # the client gave up on some at the end
        end = float(result["summary"].get("duration_s") or 0.0) + warmup
        outcomes = unfinished_at(outcomes, replay.workload.t, end)
    if outcomes is not sim.outcomes or not replay.measured.all():  # measured as the run was
        summary = summarize(
            measured_outcomes(outcomes, replay.measured), simulation._slos,
            max(1e-9, sim.duration_s - warmup),
        )  # fmt: skip
    rows: list[ValidationRow] = []
    for kind, metric in COMPARED:
        real = result["summary"]["by_kind"].get(kind, {}).get(metric, {})
        simulated = summary["by_kind"].get(kind, {}).get(metric, {})
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
        sim_hits = summary["by_kind"].get("llm", {}).get("prefix_hit_rate")
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
