"""Earliest deadline first, with admission control against the deadline.

A request whose deadline cannot be met given the work queued ahead of it and the
engines' speed is refused at admission (the client can retry or degrade at once),
instead of being accepted and then missing its SLO while delaying everyone else.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sage.llm.control_plane.policies.base import register_policy
from sage.llm.control_plane.policies.ordered import OrderedQueuePolicy
from sage.llm.control_plane.types import EngineState, Request


@register_policy("slo_aware")
class SloAwarePolicy(OrderedQueuePolicy):
    """EDF queue; ``admit`` rejects a request whose deadline is already out of reach.

    Service times come from the engines' speed figures; when those are unknown the
    policy uses what it observed (dispatch-to-completion, an exponential average per
    engine kind), and admits when it knows nothing yet.
    """

    def __init__(self, max_queue: int = 1024, smoothing: float = 0.2) -> None:
        super().__init__(max_queue)
        self.smoothing = smoothing
        self._observed: dict[str, float] = {}  # engine kind -> seconds per request
        self._started: dict[str, float] = {}  # request id -> dispatch time

    def key(self, request: Request) -> Any:
        deadline = request.deadline if request.deadline is not None else math.inf
        return (deadline, -request.priority, request.arrival)

    # -- estimates ---------------------------------------------------------------
    def service_estimate(self, request: Request, engines: Sequence[EngineState]) -> float:
        """Expected service seconds of ``request`` on the fastest engine that serves it."""
        estimates = [e.estimate_service_s(request) for e in engines if e.can_serve(request)]
        known = [s for s in estimates if s > 0]
        if known:
            return min(known)
        return self._observed.get(request.engine_kind, 0.0)

    @staticmethod
    def _distinct(engines: Sequence[EngineState]) -> list[EngineState]:
        """One engine per (health, kinds, models, speeds): the others give the same
        ``service_estimate``, so admission costs O(queue x distinct engines) instead of
        O(queue x engines) on large homogeneous pools."""
        seen: dict[tuple[Any, ...], EngineState] = {}
        for e in engines:
            key = (e.healthy, e.kinds, e.models, e.decode_tokens_per_s,
                   e.prefill_tokens_per_s, e.embed_items_per_s)
            seen.setdefault(key, e)
        return list(seen.values())

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if not super().admit(request, engines, now):
            return False
        if request.deadline is None:
            return True
        if request.deadline <= now:
            return False
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

    # -- learning ------------------------------------------------------------------
    def on_dispatch(self, request: Request, engine_id: str, now: float) -> None:
        self._started[request.id] = now

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        start = self._started.pop(request.id, None)
        if start is None or not ok:
            return
        took = max(0.0, now - start)
        old = self._observed.get(request.engine_kind)
        self._observed[request.engine_kind] = (
            took if old is None else (1 - self.smoothing) * old + self.smoothing * took
        )
