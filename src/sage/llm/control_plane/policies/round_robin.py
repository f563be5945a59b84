"""Arrival order, engines taken in turn: spreads load without looking at it."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from sage.llm.control_plane.policies.base import SchedulingPolicy, register_policy
from sage.llm.control_plane.policies.placement import free_slots
from sage.llm.control_plane.types import Dispatch, EngineState, Request


@register_policy("round_robin")
class RoundRobinPolicy(SchedulingPolicy):
    """FIFO queue; each request goes to the next engine in rotation that can take it.

    Unlike ``fifo`` a request nobody can serve right now does not block requests of
    another kind behind it.
    """

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._queue: deque[Request] = deque()
        self._cursor = 0

    def enqueue(self, request: Request, now: float) -> None:
        self._queue.append(request)

    def remove(self, request_id: str) -> Request | None:
        for request in self._queue:
            if request.id == request_id:
                self._queue.remove(request)
                return request
        return None

    def pending(self) -> list[Request]:
        return list(self._queue)

    def __len__(self) -> int:
        return len(self._queue)

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
