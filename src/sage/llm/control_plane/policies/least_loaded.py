"""Arrival order, each request to the engine with the most spare capacity."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from sage.llm.control_plane.policies.base import SchedulingPolicy, register_policy
from sage.llm.control_plane.policies.placement import free_slots, least_loaded
from sage.llm.control_plane.types import Dispatch, EngineState, Request


@register_policy("least_loaded")
class LeastLoadedPolicy(SchedulingPolicy):
    """FIFO queue placed by lowest ``in_flight / capacity`` (join the shortest queue)."""

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._queue: deque[Request] = deque()

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
        if not self._queue:
            return []
        free = free_slots(engines)
        out: list[Dispatch] = []
        kept: deque[Request] = deque()
        while self._queue:
            request = self._queue.popleft()
            engine = least_loaded(engines, free, request)
            if engine is None:
                kept.append(request)
                continue
            free[engine.id] -= 1
            out.append(Dispatch(engine.id, [request]))
        self._queue = kept
        return out
