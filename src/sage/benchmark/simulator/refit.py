"""Re-fit a calibration's speeds to the conditions of a real benchmark run.

``sage bench calibrate`` times the engines one call at a time with an idle client. During
a benchmark run the load generator, the gateway and both engines share the same cores,
and every call is slower than in that quiet measurement (here: decode gaps of 9.6 ms in
runs against 8.3 ms in calibration, embedding calls ~1.25x). The model's *shape* (a TTFT
line over prompt tokens, the embedding batch curve) carries over; its speeds do not.

So, from the request records of a run:

* decode rate = 1 / mean inter-token gap while no embedding call was in flight, over
  every chat (:func:`records.decode_gaps`);
* TTFT = the base model times the median of measured / modelled prefill time, over every
  chat (queueing taken off: :func:`records.prefills`);
* embedding call time = the base model times the median of measured / modelled, from
  the calls that had the engine to themselves (no other call in flight: no queueing, no
  batching with others);
* contention = each of those figures while the *other* engine was busy, against the same
  figure while it was idle (decode, prefill and embedding apart). These are only the
  starting point: "busy" is read off the client's call intervals, which also cover the
  time a call waits and is answered, so busy samples include moments the engines did not
  compete (decode came out too mild on the fourth VM: 0.92 measured, 0.75 fitting its
  runs), and only embedding calls that had the engine to themselves can be timed, a sample
  biased towards light contention. For runs that can be replayed the factors named in
  ``tune`` are then chosen on a grid, each in turn, as those whose replay of the runs
  themselves is closest in gated percentiles (mean absolute log ratio, a smooth score:
  counting figures within tolerance jumps between neighbouring factors).

A figure with too few such requests keeps the base calibration's value.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sage.benchmark.simulator.profiles import Calibration, Contention
from sage.benchmark.simulator.records import decode_gaps, embedding_ratios, prefill_ratios
from sage.benchmark.simulator.validate import validate_result

MIN_SAMPLES = 5
CONTENTION_GRID = tuple(round(0.4 + 0.05 * i, 2) for i in range(17))  # 0.4 .. 1.2
CONTENTION_FACTORS = ("llm_speed", "llm_prefill_speed", "embedding_speed")
TUNE_CHOICES: dict[str, tuple[str, ...]] = {  # ``sage bench calibrate --from-run --tune``
    "all": CONTENTION_FACTORS,
    "embedding": ("embedding_speed",),  # the LLM's factors as measured
    "none": (),
}


@dataclass
class _Samples:
    itl_quiet: list[float] = field(default_factory=list)  # other engine idle
    itl_busy: list[float] = field(default_factory=list)
    ttft_quiet: list[float] = field(default_factory=list)  # measured / modelled
    ttft_busy: list[float] = field(default_factory=list)
    emb_quiet: list[float] = field(default_factory=list)  # measured / modelled
    emb_busy: list[float] = field(default_factory=list)


def _collect(runs: Iterable[dict[str, Any]], base: Calibration) -> _Samples:
    samples = _Samples()
    llm, emb = base.llm, base.embedding
    for run in runs:
        req = run["requests"]
        quiet_gaps, busy_gaps = decode_gaps(req)
        samples.itl_quiet.extend(quiet_gaps)
        samples.itl_busy.extend(busy_gaps)
        quiet_prefills, busy_prefills = prefill_ratios(req, llm)
        samples.ttft_quiet.extend(quiet_prefills)
        samples.ttft_busy.extend(busy_prefills)
        quiet_calls, busy_calls = embedding_ratios(req, emb)
        samples.emb_quiet.extend(quiet_calls)
        samples.emb_busy.extend(busy_calls)
    return samples


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if len(values) >= MIN_SAMPLES else None


def _mean(values: list[float]) -> float | None:
    """For token gaps: their sum is the decode time, and a rare stall is part of it."""
    return statistics.fmean(values) if len(values) >= MIN_SAMPLES else None


def refit(
    base: Calibration,
    runs: list[dict[str, Any]],
    names: list[str],
    tune: tuple[str, ...] = CONTENTION_FACTORS,
) -> Calibration:
    """``base`` with its speeds re-measured on ``runs`` (benchmark result dicts) and the
    contention factors in ``tune`` chosen by replaying them (the rest stay measured)."""
    s = _collect(runs, base)
    llm, emb, con = base.llm, base.embedding, base.contention
    llm_update: dict[str, float] = {}
    itl = _mean(s.itl_quiet)
    if itl:
        llm_update["decode_tokens_per_s"] = 1.0 / itl
    ttft = _median(s.ttft_quiet)
    if ttft:  # slower TTFT line: rate divided, intercept multiplied
        llm_update["prefill_tokens_per_s"] = llm.prefill_tokens_per_s / ttft
        llm_update["ttft_overhead_s"] = llm.ttft_overhead_s * ttft
    emb_scale = _median(s.emb_quiet)
    con_update: dict[str, float] = {}
    itl_busy = _mean(s.itl_busy)
    if itl and itl_busy:
        con_update["llm_speed"] = min(4.0, itl / itl_busy)
    ttft_busy = _median(s.ttft_busy)
    if ttft and ttft_busy:
        con_update["llm_prefill_speed"] = min(4.0, ttft / ttft_busy)
    emb_busy = _median(s.emb_busy)
    if emb_scale and emb_busy:
        con_update["embedding_speed"] = min(4.0, emb_scale / emb_busy)
    counts = {k: len(v) for k, v in vars(s).items()}
    fitted = base.model_copy(
        update={
            "llm": llm.model_copy(update=llm_update),
            "embedding": emb.slower(emb_scale) if emb_scale else emb,
            "contention": con.model_copy(update=con_update),
        }
    )
    replayable = [r for r in runs if "workload_spec" in r.get("config", {}) and "summary" in r]
    tuned = tune_contention(fitted, replayable, tune) if replayable and tune else None
    return fitted.model_copy(
        update={
            "contention": tuned or fitted.contention,
            "source": {
                **base.source,
                "refit": {
                    "at": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "runs": names,
                    "samples": counts,
                    "ttft_scale": ttft,
                    "embedding_scale": emb_scale,
                    "contention_measured": fitted.contention.model_dump(),
                    "contention_tuned_on": len(replayable) if tuned else 0,
                    "contention_tuned": list(tune) if tuned else [],
                },
            },
        }
    )


def tune_contention(
    cal: Calibration,
    runs: list[dict[str, Any]],
    factors: tuple[str, ...] = CONTENTION_FACTORS,
    rounds: int = 2,
) -> Contention | None:
    """The contention ``factors`` whose replay of ``runs`` fits best (lowest mean absolute
    log ratio of simulated to real gated percentiles): each factor in turn scanned over
    the grid with the others held, ``rounds`` passes."""

    def score(con: Contention) -> float | None:
        trial = cal.model_copy(update={"contention": con})
        ratios = [
            abs(math.log(row.sim_ms / row.real_ms))
            for run in runs
            for row in validate_result(run, trial, intervals=False).rows
            if row.gated and row.real_ms and row.sim_ms
        ]
        return statistics.fmean(ratios) if ratios else None

    current = cal.contention
    if current.llm_prefill_speed is None:
        current = current.model_copy(update={"llm_prefill_speed": current.llm_speed})
    best = score(current)
    if best is None:
        return None
    for _ in range(rounds if len(factors) > 1 else 1):
        for factor in factors:
            for value in CONTENTION_GRID:
                trial = current.model_copy(update={factor: value})
                trial_score = score(trial)
                if trial_score is not None and trial_score < best:
                    best, current = trial_score, trial
    return current
