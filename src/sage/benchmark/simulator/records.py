"""What a real run's request records say about its engines' speed.

A decode gap (one streamed token to the next) is *quiet* when no embedding call was in
flight during it and *busy* otherwise. An LLM engine here decodes one sequence at a time,
so no other chat shares the engine during a gap: quiet gaps give the engine's own decode
speed at the time of the run, busy ones its speed beside a working neighbour, however
loaded the run was.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any


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


def decode_gaps(req: dict[str, list[Any]]) -> tuple[list[float], list[float]]:
    """(quiet, busy) inter-token gaps of the run's completed chats (``itl`` holds the
    gaps after the first token). Without call durations (``e2e``) every gap is quiet."""
    if "e2e" in req:
        starts, ends = _union(Intervals.of_kind(req, "embedding").spans)
    else:
        starts, ends = [], []
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
            i = bisect_left(starts, t + gap) - 1
            (busy if i >= 0 and ends[i] > t else quiet).append(gap)
            t += gap
    return quiet, busy
