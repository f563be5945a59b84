"""Fair share across tenants: per-tenant queues served by deficit round robin.

One tenant's burst fills only its own queue; every tenant with pending work gets a
turn each round, so a flood from one cannot starve another.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field

from sage.llm.control_plane.policies.base import PlacingPolicy, PolicyOptions
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.types import Dispatch, EngineState, Request


class FairSharePolicy(PlacingPolicy):
    """Deficit round robin over tenants; FIFO within a tenant.

    ``weights`` gives a tenant more turns per round (default 1); ``quantum`` is the
    credit a tenant earns per round, in requests.
    """

    name = "fair"

    class Options(PolicyOptions):
        weights: dict[str, Annotated[float, Field(gt=0, le=1e6)]] = {}
        quantum: float = Field(1.0, gt=0, le=1e6, description="credit per round, in requests")
        max_queue_per_tenant: int | None = Field(None, ge=1)

    def __init__(
        self,
        max_queue: int = 1024,
        weights: dict[str, float] | None = None,
        quantum: float = 1.0,
        max_queue_per_tenant: int | None = None,
    ) -> None:
        super().__init__(max_queue)
        self.weights = dict(weights or {})
        self.quantum = quantum
        self.max_queue_per_tenant = max_queue_per_tenant
        self._queues: OrderedDict[str, deque[Request]] = OrderedDict()
        self._deficit: dict[str, float] = {}
        self._size = 0

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if not super().admit(request, engines, now):
            return False
        limit = self.max_queue_per_tenant
        return limit is None or len(self._queues.get(request.tenant, ())) < limit

    def enqueue(self, request: Request, now: float) -> None:
        self._queues.setdefault(request.tenant, deque()).append(request)
        self._deficit.setdefault(request.tenant, 0.0)
        self._size += 1

    def remove(self, request_id: str) -> Request | None:
        for queue in self._queues.values():
            for request in queue:
                if request.id == request_id:
                    queue.remove(request)
                    self._size -= 1
                    return request
        return None

    def pending(self) -> list[Request]:
        return [r for q in self._queues.values() for r in q]

    def __len__(self) -> int:
        return self._size

    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        progress = True
        while progress and ledger.total_free() > 0:
            progress = False
            for tenant in list(self._queues):
                queue = self._queues[tenant]
                if not queue or ledger.least_loaded(queue[0]) is None:
                    continue  # blocked now: it earns no credit to bank for later
                self._deficit[tenant] += self.quantum * self.weights.get(tenant, 1.0)
                while queue and self._deficit[tenant] >= 1.0:
                    engine = ledger.least_loaded(queue[0])
                    if engine is None:
                        break
                    request = queue.popleft()
                    self._size -= 1
                    self._deficit[tenant] -= 1.0
                    ledger.take(engine)
                    out.append(Dispatch(engine.id, [request]))
                    progress = True
                if not queue:
                    self._deficit[tenant] = 0.0  # no banking credit while idle
            # Rotate so the next pass starts with another tenant.
            if self._queues:
                self._queues.move_to_end(next(iter(self._queues)))
        for tenant in [t for t, q in self._queues.items() if not q]:
            del self._queues[tenant]
            self._deficit.pop(tenant, None)
        return out
