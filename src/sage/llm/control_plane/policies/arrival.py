"""A pending queue kept in arrival order: the bookkeeping FIFO-like policies share.

``fifo``, ``round_robin`` and ``least_loaded`` differ only in where each request goes,
so each subclasses :class:`ArrivalOrderPolicy` and writes just ``place``.

The queue is one deque per request class (engine kind, model), entries numbered in
arrival order. Requests of one class can all be served by the same engines, so once a
pass finds no free engine for a class it skips the rest of that class at once instead of
walking past each of its requests (a queue full of one saturated kind used to be
re-walked on every pass); taking the class head with the lowest number keeps the one
global arrival order, so the decisions are those of a single deque.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque

from sage.llm.control_plane.policies.base import PlacingPolicy
from sage.llm.control_plane.types import Request

Entry = tuple[int, Request]  # (arrival number, request)


class ArrivalOrderPolicy(PlacingPolicy):
    """Requests wait in the order they arrived (per-class deques, merged by number)."""

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._queues: dict[tuple[str, str], deque[Entry]] = {}
        self._seq = itertools.count()
        self._size = 0

    def enqueue(self, request: Request, now: float) -> None:
        key = (request.engine_kind, request.model)
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
        queue.append((next(self._seq), request))
        self._size += 1

    def remove(self, request_id: str) -> Request | None:
        found: tuple[deque[Entry], Entry] | None = None
        for queue in self._queues.values():
            for entry in queue:
                if entry[1].id == request_id:
                    if found is None or entry[0] < found[1][0]:
                        found = (queue, entry)
                    break
        if found is None:
            return None
        found[0].remove(found[1])
        self._size -= 1
        return found[1][1]

    def pending(self) -> list[Request]:
        return [request for _, request in heapq.merge(*self._queues.values())]

    def __len__(self) -> int:
        return self._size

    # -- for ``place`` -----------------------------------------------------------------
    def _heads(self) -> list[deque[Entry]]:
        """The non-empty class queues: the candidates of a pass."""
        return [queue for queue in self._queues.values() if queue]

    def _popleft(self, queue: deque[Entry], heads: list[deque[Entry]]) -> Request:
        """Take ``queue``'s head; ``heads`` loses ``queue`` once it is empty."""
        request = queue.popleft()[1]
        self._size -= 1
        if not queue:
            drop(heads, queue)
        return request


def first_head(heads: list[deque[Entry]]) -> deque[Entry]:
    """The queue whose head arrived first."""
    best = heads[0]
    for queue in heads[1:]:
        if queue[0][0] < best[0][0]:
            best = queue
    return best


def drop(heads: list[deque[Entry]], queue: deque[Entry]) -> None:
    """Remove ``queue`` (by identity: deques compare by content) from ``heads``."""
    for i, candidate in enumerate(heads):
        if candidate is queue:
            del heads[i]
            return
