"""A pending queue kept in an order of the policy's choosing (a heap with lazy removal).

Priority and earliest-deadline-first differ only in the sort key, so both build on
:class:`OrderedQueuePolicy`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any

from sage.llm.control_plane.policies.base import SchedulingPolicy
from sage.llm.control_plane.policies.placement import free_slots, least_loaded
from sage.llm.control_plane.types import Dispatch, EngineState, Request


class OrderedQueuePolicy(SchedulingPolicy):
    """Serve the smallest :meth:`key` first, each to the least-loaded engine that can.

    A request nobody can serve right now is skipped, not blocking (different kinds and
    models share the queue); it keeps its place for the next pass.
    """

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._heap: list[tuple[Any, int, Request]] = []
        self._live: dict[str, Request] = {}
        self._seq = itertools.count()

    def key(self, request: Request) -> Any:  # pragma: no cover - abstract in spirit
        raise NotImplementedError

    def enqueue(self, request: Request, now: float) -> None:
        self._live[request.id] = request
        heapq.heappush(self._heap, (self.key(request), next(self._seq), request))

    def remove(self, request_id: str) -> Request | None:
        # Lazy: the heap entry is skipped when popped.
        return self._live.pop(request_id, None)

    def pending(self) -> list[Request]:
        return list(self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def _pop_live(self) -> tuple[Any, int, Request] | None:
        while self._heap:
            entry = heapq.heappop(self._heap)
            if self._live.get(entry[2].id) is entry[2]:
                return entry
        return None

    def schedule(self, engines: Sequence[EngineState], now: float) -> list[Dispatch]:
        if not self._live:
            return []
        free = free_slots(engines)
        out: list[Dispatch] = []
        skipped: list[tuple[Any, int, Request]] = []
        while any(v > 0 for v in free.values()):
            entry = self._pop_live()
            if entry is None:
                break
            request = entry[2]
            engine = least_loaded(engines, free, request)
            if engine is None:
                skipped.append(entry)
                continue
            free[engine.id] -= 1
            del self._live[request.id]
            self.on_dispatch(request, engine.id, now)
            out.append(Dispatch(engine.id, [request]))
        for entry in skipped:
            heapq.heappush(self._heap, entry)
        return out

    def on_dispatch(self, request: Request, engine_id: str, now: float) -> None:  # noqa: B027
        """Hook: a request left the queue for ``engine_id`` at ``now``."""
