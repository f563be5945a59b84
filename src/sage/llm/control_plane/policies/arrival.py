"""A pending queue kept in arrival order: the bookkeeping FIFO-like policies share.

``fifo``, ``round_robin`` and ``least_loaded`` differ only in where each request goes,
so each subclasses :class:`ArrivalOrderPolicy` and writes just ``schedule``.
"""

from __future__ import annotations

from collections import deque

from sage.llm.control_plane.policies.base import SchedulingPolicy
from sage.llm.control_plane.types import Request


class ArrivalOrderPolicy(SchedulingPolicy):
    """Requests wait in a deque in the order they arrived."""

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
