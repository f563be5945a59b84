"""First come, first served over the whole pool: the reference policy."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from sage.llm.control_plane.policies.base import SchedulingPolicy, register_policy
from sage.llm.control_plane.types import Dispatch, EngineState, Request


@register_policy("fifo")
class FifoPolicy(SchedulingPolicy):
    """Serve in arrival order; each request goes to the first engine with a free slot.

    Head-of-line blocking is deliberate: a request nobody can serve right now holds
    back the ones behind it, which is what FIFO means.
    """

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
        free = {e.id: e.free_slots for e in engines}
        out: list[Dispatch] = []
        while self._queue:
            head = self._queue[0]
            target = next((e for e in engines if free[e.id] > 0 and e.can_serve(head)), None)
            if target is None:
                break
            self._queue.popleft()
            free[target.id] -= 1
            out.append(Dispatch(target.id, [head]))
        return out
