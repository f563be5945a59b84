"""A pending queue kept in an order of the policy's choosing (heaps with lazy removal).

Priority and earliest-deadline-first differ only in the sort key, so both build on
:class:`OrderedQueuePolicy`.

There is one heap per request class (engine kind, model): all requests of a class can be
served by the same engines, so once a pass finds none free for a class it skips the
whole class instead of popping and pushing back each of its requests. Taking the
smallest head across the classes keeps one global order: the decisions are those of a
single heap.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from sage.llm.control_plane.policies.base import PlacingPolicy
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.types import Dispatch, Request

Entry = tuple[Any, int, Request]  # (key, arrival number, request)


class OrderedQueuePolicy(PlacingPolicy):
    """Serve the smallest :meth:`key` first, each to the least-loaded engine that can.

    A request nobody can serve right now is skipped, not blocking (different kinds and
    models share the queue); it keeps its place for the next pass.
    """

    idle_pure = True

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._heaps: dict[tuple[str, str], list[Entry]] = {}
        self._live: dict[str, Request] = {}
        self._seq = itertools.count()

    def key(self, request: Request) -> Any:  # pragma: no cover - abstract in spirit
        raise NotImplementedError

    def enqueue(self, request: Request, now: float) -> None:
        self._live[request.id] = request
        key = (request.engine_kind, request.model)
        heap = self._heaps.get(key)
        if heap is None:
            heap = self._heaps[key] = []
        heapq.heappush(heap, (self.key(request), next(self._seq), request))

    def remove(self, request_id: str) -> Request | None:
        # Lazy: the heap entry is skipped when it reaches the top.
        return self._live.pop(request_id, None)

    def pending(self) -> list[Request]:
        return list(self._live.values())

    def __len__(self) -> int:
        return len(self._live)

    def _clean(self, heap: list[Entry]) -> None:
        """Pop removed (or superseded) entries off the top of ``heap``."""
        live = self._live
        while heap and live.get(heap[0][2].id) is not heap[0][2]:
            heapq.heappop(heap)

    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        live = self._live
        heads: list[list[Entry]] = []
        for heap in self._heaps.values():
            while heap:
                request = heap[0][2]
                if live.get(request.id) is request:
                    heads.append(heap)
                    break
                heapq.heappop(heap)  # removed or superseded
        while heads and ledger.total_free():
            heap = heads[0]
            if len(heads) > 1:
                for other in heads:
                    if other[0] < heap[0]:  # (key, number) decides: numbers are unique
                        heap = other
            request = heap[0][2]
            engine = ledger.least_loaded(request)
            if engine is None:  # no free engine for this class for the rest of the pass
                heads = [h for h in heads if h is not heap]
                continue
            heapq.heappop(heap)
            del live[request.id]
            ledger.take(engine)
            self.on_dispatch(request, engine.id, now)
            out.append(Dispatch(engine.id, [request]))
            self._clean(heap)
            if not heap:
                heads = [h for h in heads if h is not heap]
        return out

    def on_dispatch(self, request: Request, engine_id: str, now: float) -> None:  # noqa: B027
        """Hook: a request left the queue for ``engine_id`` at ``now``."""
