"""Earliest deadline first, with admission control against the deadline.

A request whose deadline cannot be met given the work queued ahead of it and the
engines' speed is refused at admission (the client can retry or degrade at once),
instead of being accepted and then missing its SLO while delaying everyone else.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pydantic import Field

from sage.llm.control_plane.policies.base import PolicyOptions
from sage.llm.control_plane.policies.ordered import OrderedQueuePolicy
from sage.llm.control_plane.pool import EnginePool, profile_key
from sage.llm.control_plane.types import EngineState, Request, RequestKind

# A float sum of n non-negative terms is within n * 2**-53 (~1.1e-16 n) of the exact sum,
# so two sums of the same terms in different orders differ by at most ~2.2e-16 n relative:
# 4.5e-16 per term leaves a factor two to spare.
_SUM_ERROR = 4.5e-16


class _Backlog:
    """Queued requests of one engine kind that have a deadline, sorted by deadline: the
    work EDF runs before a given deadline, without walking the queue."""

    __slots__ = ("unknown", "keys", "work")

    def __init__(self) -> None:
        self.unknown: list[float] = []  # deadlines of requests with no speed-based estimate
        self.keys: list[tuple[float, int]] = []  # (deadline, number) of those with one
        self.work: list[float] = []  # their estimates, in ``keys`` order


class SloAwarePolicy(OrderedQueuePolicy):
    """EDF queue; ``admit`` rejects a request whose deadline is already out of reach.

    Service times come from the engines' speed figures; when those are unknown the
    policy uses what it observed (dispatch-to-completion, an exponential average per
    engine kind), and admits when it knows nothing yet.

    Admission reads the work queued ahead from an index (per engine kind, sorted by
    deadline, kept on enqueue, dispatch and removal) instead of walking the queue; it
    decides exactly as the walk (:meth:`_admit_by_scan`) would.
    """

    name = "slo_aware"

    class Options(PolicyOptions):
        smoothing: float = Field(0.2, gt=0, le=1, description="weight of a new observation")

    def __init__(self, max_queue: int = 1024, smoothing: float = 0.2) -> None:
        super().__init__(max_queue)
        self.smoothing = smoothing
        self._observed: dict[str, float] = {}  # engine kind -> seconds per request
        self._started: dict[str, float] = {}  # request id -> dispatch time
        # Admission index over the queue (``_index``): queued work by deadline.
        self._backlog: dict[str, _Backlog] = {}
        self._indexed: dict[Request, tuple[str, float, int | None]] = {}
        self._profiles: list[EngineState] | None = None  # the estimates are against these
        self._profiles_seen: Any = None  # and this is their signature
        self._speedless: dict[tuple[Any, str], bool] = {}  # (kind, model): no speed known
        self._numbers = itertools.count()
        cls = type(self)  # the index assumes these estimates (subclasses may change them)
        self._indexable = (
            cls.service_estimate is SloAwarePolicy.service_estimate
            and cls._distinct is SloAwarePolicy._distinct
        )

    def key(self, request: Request) -> Any:
        deadline = request.deadline if request.deadline is not None else math.inf
        return (deadline, -request.priority, request.arrival)

    # -- queue -------------------------------------------------------------------------
    def enqueue(self, request: Request, now: float) -> None:
        old = self._live.get(request.id)
        if old is not None and old is not request:
            self._forget(old)  # superseded: it leaves the queue
        super().enqueue(request, now)
        if request.deadline is not None and self._profiles is not None:
            self._index(request, self._profiles)

    def remove(self, request_id: str) -> Request | None:
        request = super().remove(request_id)
        if request is not None:
            self._forget(request)
        return request

    # -- estimates ---------------------------------------------------------------
    def service_estimate(self, request: Request, engines: Sequence[EngineState]) -> float:
        """Expected service seconds of ``request`` on the fastest engine that serves it."""
        known = _known_estimate(request, engines)
        if known > 0:
            return known
        return self._observed.get(request.engine_kind, 0.0)

    @staticmethod
    def _distinct(engines: Sequence[EngineState]) -> list[EngineState]:
        """One engine per (health, kinds, models, speeds): the others give the same
        ``service_estimate``, so admission costs O(distinct engines) instead of
        O(engines) per estimate on large homogeneous pools."""
        seen: dict[tuple[Any, ...], EngineState] = {}
        for e in engines:
            seen.setdefault(profile_key(e), e)
        return list(seen.values())

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if not super().admit(request, engines, now):
            return False
        deadline = request.deadline
        if deadline is None:
            return True
        if deadline <= now:
            return False
        if not self._indexable or not math.isfinite(deadline):
            return self._admit_by_scan(request, engines, now)
        if isinstance(engines, EnginePool) and engines.indexed:
            servers, slots, busy = engines.serving(request)
            if not servers:
                return True  # the caller reports "no engine"; not a deadline matter
            seen, profiles = engines.profiles()
        else:
            serving = [e for e in engines if e.can_serve(request)]
            if not serving:
                return True
            slots = sum(max(1, e.capacity) for e in serving)
            busy = sum(min(e.in_flight, e.capacity) for e in serving)
            profiles = self._distinct(engines)
            seen = tuple(profile_key(e) for e in profiles)
            if seen != self._profiles_seen:
                profiles = [replace(e) for e in profiles]  # frozen: the list may change
        if seen != self._profiles_seen:
            self._reindex(seen, profiles)
        kind = request.engine_kind
        observed = self._observed.get(kind, 0.0)
        speedless = self._speedless.get((request.kind, request.model))
        if speedless:
            own = observed
        else:
            own = self._known(request, self._profiles)  # type: ignore[arg-type]
            if not own > 0:
                own = observed
        extra = busy * own if busy >= slots else 0.0
        # Work EDF runs first: queued requests of this kind due no later than this one.
        backlog = self._backlog.get(kind)
        terms = 0
        if backlog is not None:
            unknown = bisect_right(backlog.unknown, deadline)
            known = bisect_right(backlog.keys, (deadline, math.inf)) if backlog.keys else 0
            terms = unknown + known
        if not terms:  # the scan's formula, step for step, with nothing ahead
            return now + (0.0 + extra) / slots + own <= deadline
        ahead = sum(backlog.work[:known]) if known else 0.0  # type: ignore[union-attr]
        if unknown:
            ahead += unknown * observed
        # The scan adds the same terms in queue order; both sums are within
        # terms * 2**-53 * ahead of the exact one and the formula is monotone in the
        # sum, so unless the margin is that thin both give the same answer. If it is: scan.
        slack = ahead * (terms + 4) * _SUM_ERROR
        high = ahead + slack
        if now + (high + extra) / slots + own <= deadline:
            return True
        low = ahead - slack
        if not now + (low + extra) / slots + own <= deadline:
            return False
        return self._admit_by_scan(request, engines, now)

    def _admit_by_scan(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        """Admission by walking the queue: the reference the indexed path must match."""
        assert request.deadline is not None
        servers = [e for e in engines if e.can_serve(request)]
        if not servers:
            return True  # the caller reports "no engine"; not a deadline matter
        profiles = self._distinct(engines)
        own = self.service_estimate(request, profiles)
        # Work that EDF will run before this request, spread over the servers' slots.
        ahead = sum(
            self.service_estimate(r, profiles)
            for r in self._live.values()
            if r.engine_kind == request.engine_kind
            and (r.deadline if r.deadline is not None else math.inf) <= request.deadline
        )
        slots = sum(max(1, e.capacity) for e in servers)
        busy = sum(min(e.in_flight, e.capacity) for e in servers)
        wait = (ahead + (busy * own if busy >= slots else 0.0)) / slots
        return now + wait + own <= request.deadline

    # -- admission index ---------------------------------------------------------------
    def _reindex(self, seen: Any, profiles: list[EngineState]) -> None:
        """The engine profiles changed (or this is the first admission): estimate every
        queued request anew against ``profiles``."""
        self._profiles_seen = seen
        self._profiles = profiles
        self._speedless.clear()
        self._backlog.clear()
        self._indexed.clear()
        for request in self._live.values():
            if request.deadline is not None:
                self._index(request, profiles)

    def _index(self, request: Request, profiles: list[EngineState]) -> None:
        """Add queued ``request`` (it has a deadline) to the backlog."""
        deadline = request.deadline
        assert deadline is not None
        if request in self._indexed or not math.isfinite(deadline):
            return
        kind = request.engine_kind
        backlog = self._backlog.get(kind)
        if backlog is None:
            backlog = self._backlog[kind] = _Backlog()
        work = self._known(request, profiles)
        if work > 0:
            number = next(self._numbers)
            at = bisect_left(backlog.keys, (deadline, number))
            backlog.keys.insert(at, (deadline, number))
            backlog.work.insert(at, work)
            self._indexed[request] = (kind, deadline, number)
        else:
            insort(backlog.unknown, deadline)
            self._indexed[request] = (kind, deadline, None)

    def _known(self, request: Request, profiles: list[EngineState]) -> float:
        """:func:`_known_estimate`, skipping the engines when none of those serving this
        (kind, model) advertises a speed (then it is 0.0 whatever the request's size)."""
        key = (request.kind, request.model)
        speedless = self._speedless.get(key)
        if speedless is None:
            speedless = self._speedless[key] = not any(
                _may_estimate(e, request) for e in profiles if e.can_serve(request)
            )
        return 0.0 if speedless else _known_estimate(request, profiles)

    def _forget(self, request: Request) -> None:
        """``request`` left the queue: out of the backlog (if it was indexed yet)."""
        entry = self._indexed.pop(request, None)
        if entry is None:
            return
        kind, deadline, number = entry
        backlog = self._backlog[kind]
        if number is None:
            del backlog.unknown[bisect_left(backlog.unknown, deadline)]
        else:
            at = bisect_left(backlog.keys, (deadline, number))
            del backlog.keys[at]
            del backlog.work[at]

    # -- learning ------------------------------------------------------------------
    def on_dispatch(self, request: Request, engine_id: str, now: float) -> None:
        self._started[request.id] = now
        self._forget(request)

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        start = self._started.pop(request.id, None)
        if start is None or not ok:
            return
        took = max(0.0, now - start)
        old = self._observed.get(request.engine_kind)
        self._observed[request.engine_kind] = (
            took if old is None else (1 - self.smoothing) * old + self.smoothing * took
        )


def _known_estimate(request: Request, engines: Sequence[EngineState]) -> float:
    """Fastest speed-based service time of ``request`` over ``engines``; 0.0 if none."""
    known = [
        s for s in (e.estimate_service_s(request) for e in engines if e.can_serve(request)) if s > 0
    ]
    return min(known) if known else 0.0


def _may_estimate(engine: EngineState, request: Request) -> bool:
    """Whether ``engine.estimate_service_s`` can be non-zero for requests of this kind."""
    if type(engine).estimate_service_s is not EngineState.estimate_service_s:
        return True
    if request.kind is RequestKind.EMBEDDING:
        return bool(engine.embed_items_per_s)
    return bool(engine.decode_tokens_per_s or engine.prefill_tokens_per_s)
