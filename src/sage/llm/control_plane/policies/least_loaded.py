"""Arrival order, each request to the engine with the most spare capacity."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from sage.llm.control_plane.policies.arrival import ArrivalOrderPolicy
from sage.llm.control_plane.policies.base import register_policy
from sage.llm.control_plane.policies.placement import free_slots, least_loaded
from sage.llm.control_plane.types import Dispatch, EngineState, Request


@register_policy("least_loaded")
class LeastLoadedPolicy(ArrivalOrderPolicy):
    """FIFO queue placed by lowest ``in_flight / capacity`` (join the shortest queue)."""

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._queue:
            return []
        free = free_slots(engines)
        left = sum(free.values())
        out: list[Dispatch] = []
        kept: deque[Request] = deque()
        while self._queue and left:  # a full pool leaves the rest queued, in order
            request = self._queue.popleft()
            engine = least_loaded(engines, free, request)
            if engine is None:
                kept.append(request)
                continue
            free[engine.id] -= 1
            left -= 1
            out.append(Dispatch(engine.id, [request]))
        kept.extend(self._queue)
        self._queue = kept
        return out
