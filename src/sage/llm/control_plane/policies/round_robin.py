"""Arrival order, engines taken in turn: spreads load without looking at it."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from sage.llm.control_plane.policies.arrival import ArrivalOrderPolicy
from sage.llm.control_plane.policies.base import register_policy
from sage.llm.control_plane.policies.placement import free_slots
from sage.llm.control_plane.types import Dispatch, EngineState, Request


@register_policy("round_robin")
class RoundRobinPolicy(ArrivalOrderPolicy):
    """FIFO queue; each request goes to the next engine in rotation that can take it.

    Unlike ``fifo`` a request nobody can serve right now does not block requests of
    another kind behind it.
    """

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._cursor = 0

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._queue or not engines:
            return []
        free = free_slots(engines)
        out: list[Dispatch] = []
        kept: deque[Request] = deque()
        n = len(engines)
        while self._queue:
            request = self._queue.popleft()
            if not any(free.values()):
                kept.append(request)
                kept.extend(self._queue)
                self._queue.clear()
                break
            for step in range(n):
                engine = engines[(self._cursor + step) % n]
                if free[engine.id] > 0 and engine.can_serve(request):
                    free[engine.id] -= 1
                    self._cursor = (self._cursor + step + 1) % n
                    out.append(Dispatch(engine.id, [request]))
                    break
            else:
                kept.append(request)
        self._queue = kept
        return out
