"""Hybrid: embeddings micro-batched across clients, LLM requests SLO-aware.

Both share one engine pool. Specialist engines are filled first, so an engine that
can serve both kinds is spare capacity that absorbs a burst of either.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from sage.llm.control_plane.policies.base import PlacingPolicy, PolicyOptions, RequestPolicy
from sage.llm.control_plane.policies.fair import FairSharePolicy
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from sage.llm.control_plane.policies.slo_aware import SloAwarePolicy
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind


class HybridPolicy(PlacingPolicy):
    """Micro-batch embeddings (flush at ``batch_size`` inputs or after ``max_wait_s``);
    delegate chat/completions to an inner EDF policy (or fair share per tenant).
    """

    name = "hybrid"

    class Options(PolicyOptions):
        batch_size: int = Field(32, ge=1, le=4096, description="inputs per embedding batch")
        max_wait_s: float = Field(0.01, ge=0, le=10, description="longest batching delay")
        fair_share: bool = False  # LLM requests: fair share per tenant instead of EDF
        prefix_aware: bool = False  # LLM requests: placed where their prompt prefix is cached
        prefix_source: Literal["approximate", "precise"] = "approximate"  # see prefix_aware

    def __init__(
        self,
        max_queue: int = 1024,
        batch_size: int = 32,
        max_wait_s: float = 0.01,
        fair_share: bool = False,
        prefix_aware: bool = False,
        prefix_source: str = "approximate",
    ) -> None:
        super().__init__(max_queue)
        self.batch_size = batch_size
        self.max_wait_s = max_wait_s
        self.fair_share = fair_share
        self.prefix_aware = prefix_aware
        self.llm: RequestPolicy
        if prefix_aware:
            self.llm = PrefixAwarePolicy(max_queue, source=prefix_source)
        else:
            self.llm = FairSharePolicy(max_queue) if fair_share else SloAwarePolicy(max_queue)
        self.idle_pure = self.llm.idle_pure  # its embedding pass is idle-pure
        self._embed: OrderedDict[str, deque[Request]] = OrderedDict()  # model -> queue
        self._embed_inputs: dict[str, int] = {}
        self._embed_size = 0

    # -- queue -----------------------------------------------------------------
    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if len(self) >= self.max_queue:
            return False
        if request.kind is RequestKind.EMBEDDING:
            return True
        return self.llm.admit(request, engines, now)

    def enqueue(self, request: Request, now: float) -> None:
        if request.kind is RequestKind.EMBEDDING:
            self._embed.setdefault(request.model, deque()).append(request)
            self._embed_inputs[request.model] = (
                self._embed_inputs.get(request.model, 0) + request.n_inputs
            )
            self._embed_size += 1
        else:
            self.llm.enqueue(request, now)

    def remove(self, request_id: str) -> Request | None:
        for model, queue in self._embed.items():
            for request in queue:
                if request.id == request_id:
                    queue.remove(request)
                    self._embed_inputs[model] -= request.n_inputs
                    self._embed_size -= 1
                    return request
        return self.llm.remove(request_id)

    def pending(self) -> list[Request]:
        return [r for q in self._embed.values() for r in q] + self.llm.pending()

    def __len__(self) -> int:
        return self._embed_size + len(self.llm)

    # -- decisions -------------------------------------------------------------
    def _due(self, model: str, now: float) -> bool:
        queue = self._embed[model]
        return bool(queue) and (
            self._embed_inputs[model] >= self.batch_size
            or now - queue[0].arrival >= self.max_wait_s - 1e-9
        )

    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        if self._embed_size:
            for model, queue in self._embed.items():
                while self._due(model, now):
                    engine = ledger.least_loaded(queue[0])
                    if engine is None:
                        break
                    limit = max(1, min(engine.max_batch, max(self.batch_size, 1)))
                    batch = [queue.popleft()]
                    taken = batch[0].n_inputs
                    while queue and taken + queue[0].n_inputs <= limit:
                        taken += queue[0].n_inputs
                        batch.append(queue.popleft())
                    self._embed_inputs[model] -= taken
                    self._embed_size -= len(batch)
                    ledger.take(engine)
                    out.append(Dispatch(engine.id, batch))
        if len(self.llm):
            inner = self.llm
            if isinstance(inner, PlacingPolicy) and type(inner).schedule is PlacingPolicy.schedule:
                out.extend(inner.place(ledger, now))  # sees the slots the batches took
            else:
                used = [_with_used(e, e.free_slots - ledger.free_of(e)) for e in ledger.engines]
                out.extend(inner.schedule(used, now))
        return out

    def next_wakeup(self, now: float) -> float | None:
        times = [
            q[0].arrival + self.max_wait_s
            for q in self._embed.values()
            if q and q[0].arrival + self.max_wait_s > now
        ]
        inner = self.llm.next_wakeup(now)
        if inner is not None:
            times.append(inner)
        return min(times) if times else None

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        if request.kind is not RequestKind.EMBEDDING:
            self.llm.on_complete(request, engine_id, now, ok)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "batch_size": self.batch_size,
            "max_wait_s": self.max_wait_s,
            "fair_share": self.fair_share,
            "prefix_aware": self.prefix_aware,
        }


def _with_used(engine: EngineState, extra: int) -> EngineState:
    """A copy of ``engine`` with ``extra`` more dispatches in flight."""
    if not extra:
        return engine
    from dataclasses import replace

    return replace(engine, in_flight=engine.in_flight + extra)
