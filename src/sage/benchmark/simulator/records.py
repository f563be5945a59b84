"""What a real run's request records say about its engines' speed.

An LLM engine here runs one sequence at a time, so its work can be read off any run,
however loaded: a chat's prefill runs from the later of its send and the end of the last
chat that finished before its first token, up to that token; its decode gaps (one
streamed token to the next) are its own. Either is *quiet* when no embedding call was in
flight during it and *busy* otherwise: the engine's own speed at the time of the run, and
its speed beside a working neighbour.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from sage.benchmark.simulator.profiles import EmbeddingProfile, LLMProfile


@dataclass
class Intervals:
    """Busy intervals (sent, sent + e2e) of one request kind in one run."""

    spans: list[tuple[float, float]]
    starts: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.spans.sort()
        self.starts = [s for s, _ in self.spans]

    @classmethod
    def of_kind(cls, req: dict[str, list[Any]], kind: str) -> Intervals:
        return cls(
            [
                (sent, sent + e2e)
                for sent, e2e, k in zip(req["sent"], req["e2e"], req["kind"], strict=True)
                if k == kind and sent is not None and e2e is not None
            ]
        )

    def overlapping(self, start: float, end: float) -> int:
        """How many intervals intersect ``(start, end)`` (the query itself included)."""
        stop = bisect_left(self.starts, end)
        return sum(1 for s, e in self.spans[:stop] if e > start)


def _union(spans: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Sorted, disjoint (starts, ends) covering ``spans``."""
    starts: list[float] = []
    ends: list[float] = []
    for s, e in sorted(spans):
        if ends and s <= ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


class Busy:
    """The union of one kind's busy intervals, for "was it busy during (a, b)?"."""

    def __init__(self, req: dict[str, list[Any]], kind: str) -> None:
        spans = Intervals.of_kind(req, kind).spans if "e2e" in req else []
        self.starts, self.ends = _union(spans)

    def during(self, start: float, end: float) -> bool:
        i = bisect_left(self.starts, end) - 1
        return i >= 0 and self.ends[i] > start


def prefills(req: dict[str, list[Any]]) -> list[tuple[int, float, bool]]:
    """(row, prefill seconds, embedding busy meanwhile) of each completed chat."""
    if "ttft" not in req or "e2e" not in req:
        return []
    rows = [
        i
        for i, (kind, outcome) in enumerate(zip(req["kind"], req["outcome"], strict=True))
        if kind == "llm" and outcome == "ok" and req["ttft"][i] is not None
    ]
    ends = sorted(req["sent"][i] + req["e2e"][i] for i in rows)
    embedding = Busy(req, "embedding")
    out: list[tuple[int, float, bool]] = []
    for i in rows:
        sent = req["sent"][i]
        first = sent + req["ttft"][i]
        before = bisect_right(ends, first) - 1  # the last chat done before our first token
        start = max(sent, ends[before]) if before >= 0 and ends[before] < first else sent
        if first > start:
            out.append((i, first - start, embedding.during(start, first)))
    return out


def prefill_ratios(req: dict[str, list[Any]], llm: LLMProfile) -> tuple[list[float], list[float]]:
    """(quiet, busy) measured / modelled prefill times of the run's chats."""
    quiet: list[float] = []
    busy: list[float] = []
    for i, seconds, neighbour_busy in prefills(req):
        if req["input_tokens"][i]:
            ratio = seconds / llm.ttft_s(req["input_tokens"][i])
            (busy if neighbour_busy else quiet).append(ratio)
    return quiet, busy


def embedding_ratios(
    req: dict[str, list[Any]], embedding: EmbeddingProfile
) -> tuple[list[float], list[float]]:
    """(LLM idle, LLM busy) measured / modelled times of the embedding calls that had the
    engine to themselves (no other call in flight: not queued, not batched with others)."""
    if "e2e" not in req:
        return [], []
    llm_busy = Busy(req, "llm")
    calls = Intervals.of_kind(req, "embedding")
    quiet: list[float] = []
    busy: list[float] = []
    for i, kind in enumerate(req["kind"]):
        sent, e2e = req["sent"][i], req["e2e"][i]
        if kind != "embedding" or req["outcome"][i] != "ok" or sent is None or e2e is None:
            continue
        end = sent + e2e
        if calls.overlapping(sent, end) != 1:
            continue
        n = req["n_inputs"][i] or 1
        width = req["prompt_tokens"][i] + embedding.extra_tokens_per_input
        # The simulator adds the engine's batch window to the batch time.
        ratio = (e2e - embedding.batch_wait_s) / embedding.batch_s(n, width)
        (busy if llm_busy.during(sent, end) else quiet).append(ratio)
    return quiet, busy


def decode_gaps(req: dict[str, list[Any]]) -> tuple[list[float], list[float]]:
    """(quiet, busy) inter-token gaps of the run's completed chats (``itl`` holds the
    gaps after the first token). Without call durations (``e2e``) every gap is quiet."""
    embedding = Busy(req, "embedding")
    quiet: list[float] = []
    busy: list[float] = []
    n = len(req["kind"])
    itls = req.get("itl") or [None] * n
    ttfts = req.get("ttft") or [0.0] * n
    for kind, outcome, sent, ttft, itl in zip(
        req["kind"], req["outcome"], req["sent"], ttfts, itls, strict=True
    ):
        if kind != "llm" or outcome != "ok" or not itl or sent is None:
            continue
        t = sent + (ttft or 0.0)
        for gap in itl:
            (busy if embedding.during(t, t + gap) else quiet).append(gap)
            t += gap
    return quiet, busy
