"""Re-fit a calibration's speeds to the conditions of a real benchmark run.

``sage bench calibrate`` times the engines one call at a time with an idle client. During
a benchmark run the load generator, the gateway and both engines share the same cores,
and every call is slower than in that quiet measurement (here: decode gaps of 9.6 ms in
runs against 8.3 ms in calibration, embedding calls ~1.25x). The model's *shape* (a TTFT
line over prompt tokens, the embedding batch curve) carries over; its speeds do not.

So, from the request records of a run, using only the requests that had their engine to
themselves (no other request of the same kind in flight, hence no queueing and no
batching with others):

* decode rate = 1 / median inter-token gap (first gap excluded: it is part of TTFT);
* TTFT and embedding call time = the base model times the median of measured / modelled;
* contention = median speed of those requests while the *other* engine was busy, against
  the same figure while it was idle; then, for runs that can be replayed, the pair of
  contention factors whose replay of the runs themselves has the most gated percentiles
  within tolerance (ties: the lowest median error). Unqueued requests only see light
  contention; a run under load shows what a constantly busy neighbour costs (here the
  embedding factor goes from 0.91 measured to 0.80 fitted).

A figure with too few such requests keeps the base calibration's value.
"""

from __future__ import annotations

import statistics
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sage.benchmark.simulator.profiles import Calibration, Contention
from sage.benchmark.simulator.validate import validate_result

MIN_SAMPLES = 5
CONTENTION_GRID = tuple(round(0.6 + 0.05 * i, 2) for i in range(13))  # 0.6 .. 1.2


@dataclass
class _Intervals:
    """Busy intervals of one request kind in one run, for overlap counts."""

    spans: list[tuple[float, float]]
    starts: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.spans.sort()
        self.starts = [s for s, _ in self.spans]

    def overlapping(self, start: float, end: float) -> int:
        """How many intervals intersect ``(start, end)`` (the query itself included)."""
        stop = bisect_left(self.starts, end)
        return sum(1 for s, e in self.spans[:stop] if e > start)


@dataclass
class _Samples:
    itl_quiet: list[float] = field(default_factory=list)  # other engine idle
    itl_busy: list[float] = field(default_factory=list)
    ttft_quiet: list[float] = field(default_factory=list)  # measured / modelled
    ttft_busy: list[float] = field(default_factory=list)
    emb_quiet: list[float] = field(default_factory=list)  # measured / modelled
    emb_busy: list[float] = field(default_factory=list)


def _spans(req: dict[str, list[Any]], kind: str) -> _Intervals:
    return _Intervals(
        [
            (sent, sent + e2e)
            for sent, e2e, k in zip(req["sent"], req["e2e"], req["kind"], strict=True)
            if k == kind and sent is not None and e2e is not None
        ]
    )


def _collect(runs: Iterable[dict[str, Any]], base: Calibration) -> _Samples:
    samples = _Samples()
    llm, emb = base.llm, base.embedding
    for run in runs:
        req = run["requests"]
        busy = {"llm": _spans(req, "llm"), "embedding": _spans(req, "embedding")}
        for i, kind in enumerate(req["kind"]):
            sent, e2e = req["sent"][i], req["e2e"][i]
            if req["outcome"][i] != "ok" or sent is None or e2e is None:
                continue
            end = sent + e2e
            if busy[kind].overlapping(sent, end) != 1:  # queued or batched with others
                continue
            other = "embedding" if kind == "llm" else "llm"
            neighbour_busy = busy[other].overlapping(sent, end) > 0
            if kind == "llm":
                gaps = (req["itl"][i] or [])[1:]
                (samples.itl_busy if neighbour_busy else samples.itl_quiet).extend(gaps)
                if req["ttft"][i] is not None and req["input_tokens"][i]:
                    ratio = req["ttft"][i] / llm.ttft_s(req["input_tokens"][i])
                    (samples.ttft_busy if neighbour_busy else samples.ttft_quiet).append(ratio)
            else:
                n = req["n_inputs"][i] or 1
                width = req["prompt_tokens"][i] + emb.extra_tokens_per_input
                # The simulator adds the engine's batch window to the batch time.
                ratio = (e2e - emb.batch_wait_s) / emb.batch_s(n, width)
                (samples.emb_busy if neighbour_busy else samples.emb_quiet).append(ratio)
    return samples


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if len(values) >= MIN_SAMPLES else None


def refit(
    base: Calibration, runs: list[dict[str, Any]], names: list[str], tolerance: float = 0.2
) -> Calibration:
    """``base`` with its speeds re-measured on ``runs`` (benchmark result dicts)."""
    s = _collect(runs, base)
    llm, emb, con = base.llm, base.embedding, base.contention
    llm_update: dict[str, float] = {}
    itl = _median(s.itl_quiet)
    if itl:
        llm_update["decode_tokens_per_s"] = 1.0 / itl
    ttft = _median(s.ttft_quiet)
    if ttft:  # slower TTFT line: rate divided, intercept multiplied
        llm_update["prefill_tokens_per_s"] = llm.prefill_tokens_per_s / ttft
        llm_update["ttft_overhead_s"] = llm.ttft_overhead_s * ttft
    emb_scale = _median(s.emb_quiet)
    emb_update = (
        {k: getattr(emb, k) * emb_scale for k in ("fixed_s", "per_item_s", "per_token_s")}
        if emb_scale
        else {}
    )
    con_update: dict[str, float] = {}
    itl_busy = _median(s.itl_busy)
    if itl and itl_busy:
        con_update["llm_speed"] = min(4.0, itl / itl_busy)
    emb_busy = _median(s.emb_busy)
    if emb_scale and emb_busy:
        con_update["embedding_speed"] = min(4.0, emb_scale / emb_busy)
    counts = {k: len(v) for k, v in vars(s).items()}
    fitted = base.model_copy(
        update={
            "llm": llm.model_copy(update=llm_update),
            "embedding": emb.model_copy(update=emb_update),
            "contention": con.model_copy(update=con_update),
        }
    )
    replayable = [r for r in runs if "workload_spec" in r.get("config", {}) and "summary" in r]
    tuned = tune_contention(fitted, replayable, tolerance) if replayable else None
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
                    "contention_tuned_on": len(replayable),
                },
            },
        }
    )


def tune_contention(
    cal: Calibration, runs: list[dict[str, Any]], tolerance: float
) -> Contention | None:
    """The grid point (LLM, embedding factor) whose replay of ``runs`` fits best."""
    best: tuple[tuple[int, float], Contention] | None = None
    for llm_speed in CONTENTION_GRID:
        for embedding_speed in CONTENTION_GRID:
            con = Contention(llm_speed=llm_speed, embedding_speed=embedding_speed)
            trial = cal.model_copy(update={"contention": con})
            errors = [
                row.error
                for run in runs
                for row in validate_result(run, trial, tolerance).rows
                if row.gated and row.error is not None
            ]
            if not errors:
                return None
            score = (-sum(e <= tolerance for e in errors), statistics.median(errors))
            if best is None or score < best[0]:
                best = (score, con)
    return best[1] if best else None
