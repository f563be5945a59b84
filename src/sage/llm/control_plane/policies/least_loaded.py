"""Arrival order, each request to the engine with the most spare capacity."""

from __future__ import annotations

from sage.llm.control_plane.policies.arrival import ArrivalOrderPolicy, drop, first_head
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.types import Dispatch


class LeastLoadedPolicy(ArrivalOrderPolicy):
    """FIFO queue placed by lowest ``in_flight / capacity`` (join the shortest queue).

    A request nobody can serve right now keeps its place without blocking requests of
    another class behind it; a full pool leaves the rest queued, in order.
    """

    name = "least_loaded"
    idle_pure = True

    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        heads = self._heads()
        while heads and ledger.total_free():
            queue = first_head(heads)
            engine = ledger.least_loaded(queue[0][1])
            if engine is None:  # no free engine for this class for the rest of the pass
                drop(heads, queue)
                continue
            ledger.take(engine)
            out.append(Dispatch(engine.id, [self._popleft(queue, heads)]))
        return out
