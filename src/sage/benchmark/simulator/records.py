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


COLD = 0.2  # a chat whose prompt was at most this much cached: a prefill to time


def uncached(req: dict[str, list[Any]], i: int) -> int | None:
    """Prompt tokens chat ``i`` prefilled (its cached ones were not), ``None`` when most of
    them were cached: its time is then the cache's, not the prefill's."""
    tokens = req["input_tokens"][i] or 0
    cached = (req.get("cached_tokens") or [None] * len(req["kind"]))[i] or 0
    return tokens - cached if tokens and cached <= COLD * tokens else None


def prefill_ratios(req: dict[str, list[Any]], llm: LLMProfile) -> tuple[list[float], list[float]]:
    """(quiet, busy) measured / modelled prefill times of the run's (uncached) chats."""
    quiet: list[float] = []
    busy: list[float] = []
    for i, seconds, neighbour_busy in prefills(req):
        tokens = uncached(req, i)
        if tokens:
            ratio = seconds / llm.ttft_s(tokens)
            (busy if neighbour_busy else quiet).append(ratio)
    return quiet, busy


def unqueued_chats(req: dict[str, list[Any]], slots: int) -> list[int]:
    """Answered chats sent while fewer than ``slots`` chats were in flight (none queued
    ahead of them) and no embedding call ran until their first token."""
    n = len(req["kind"])
    chats = [i for i in range(n) if req["kind"][i] == "llm" and req["sent"][i] is not None]
    spans = sorted(
        (req["sent"][i], req["sent"][i] + req["e2e"][i] if req["e2e"][i] is not None
         else float("inf"))
        for i in chats
    )  # fmt: skip
    embedding = Busy(req, "embedding")
    out: list[int] = []
    for i in chats:
        sent, ttft = req["sent"][i], req["ttft"][i]
        if req["outcome"][i] != "ok" or ttft is None:
            continue
        ahead = sum(1 for s, e in spans[: bisect_left(spans, (sent, float("-inf")))] if e > sent)
        if ahead < slots and not embedding.during(sent, sent + ttft):
            out.append(i)
    return out


def answered_chats(req: dict[str, list[Any]]) -> list[int]:
    return [i for i, (kind, outcome, ttft) in enumerate(zip(req["kind"], req["outcome"],
            req.get("ttft") or [None] * len(req["kind"]), strict=True))
            if kind == "llm" and outcome == "ok" and ttft is not None]  # fmt: skip


def cold_prefill_ratios(
    req: dict[str, list[Any]], llm: LLMProfile, slots: int | None = None
) -> list[float]:
    """Measured / modelled TTFT of the chats that prefilled (:func:`uncached`): those
    that did so at once (:func:`unqueued_chats`), or every answered one (``slots``
    ``None``). With several LLM engines :func:`prefills` cannot tell which chat a
    prefill waited for; a chat that did not wait needs no such guess."""
    rows = answered_chats(req) if slots is None else unqueued_chats(req, slots)
    return [req["ttft"][i] / llm.ttft_s(tokens) for i in rows if (tokens := uncached(req, i))]


def cached_prefill_extra(
    req: dict[str, list[Any]], llm: LLMProfile, slots: int | None = None
) -> list[float]:
    """Seconds the chats that reused most of their prompt from the prefix cache took to
    the first token beyond ``llm``'s prefill of their uncached rest (restoring the
    cached state, mostly): those sent with a slot free, or all (``slots`` ``None``)."""
    cached = req.get("cached_tokens") or []
    out = []
    for i in answered_chats(req) if slots is None else unqueued_chats(req, slots):
        tokens = req["input_tokens"][i] or 0
        if cached and tokens and (cached[i] or 0) > COLD * tokens:
            out.append(max(0.0, req["ttft"][i] - llm.ttft_s(tokens - cached[i])))
    return out


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
