"""First come, first served over the whole pool: the reference policy."""

from __future__ import annotations

from collections.abc import Sequence

from sage.llm.control_plane.policies.arrival import ArrivalOrderPolicy
from sage.llm.control_plane.policies.base import register_policy
from sage.llm.control_plane.types import Dispatch, EngineState


@register_policy("fifo")
class FifoPolicy(ArrivalOrderPolicy):
    """Serve in arrival order; each request goes to the first engine with a free slot.

    Head-of-line blocking is deliberate: a request nobody can serve right now holds
    back the ones behind it, which is what FIFO means.
    """

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
