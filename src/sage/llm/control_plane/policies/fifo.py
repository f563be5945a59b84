"""First come, first served over the whole pool: the reference policy."""

from __future__ import annotations

from sage.llm.control_plane.policies.arrival import ArrivalOrderPolicy, first_head
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.types import Dispatch


class FifoPolicy(ArrivalOrderPolicy):
    """Serve in arrival order; each request goes to the first engine with a free slot.

    Head-of-line blocking is deliberate: a request nobody can serve right now holds
    back the ones behind it, which is what FIFO means.
    """

    name = "fifo"
    idle_pure = True

    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        heads = self._heads()
        while heads:
            queue = first_head(heads)
            target = ledger.first_free(queue[0][1])
            if target is None:
                break
            ledger.take(target)
            out.append(Dispatch(target.id, [self._popleft(queue, heads)]))
        return out
