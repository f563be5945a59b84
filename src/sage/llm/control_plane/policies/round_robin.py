"""Arrival order, engines taken in turn: spreads load without looking at it."""

from __future__ import annotations

from sage.llm.control_plane.policies.arrival import ArrivalOrderPolicy, drop, first_head
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.types import Dispatch


class RoundRobinPolicy(ArrivalOrderPolicy):
    """FIFO queue; each request goes to the next engine in rotation that can take it.

    Unlike ``fifo`` a request nobody can serve right now does not block requests of
    another kind behind it.
    """

    name = "round_robin"
    idle_pure = True

    def __init__(self, max_queue: int = 1024) -> None:
        super().__init__(max_queue)
        self._cursor = 0

    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        engines = ledger.engines
        n = len(engines)
        if not n:
            return []
        out: list[Dispatch] = []
        heads = self._heads()
        while heads and ledger.total_free():
            queue = first_head(heads)
            pos = ledger.next_free(queue[0][1], self._cursor % n)
            if pos is None:  # no free engine for this class for the rest of the pass
                drop(heads, queue)
                continue
            engine = engines[pos]
            ledger.take(engine)
            self._cursor = (pos + 1) % n
            out.append(Dispatch(engine.id, [self._popleft(queue, heads)]))
        return out
