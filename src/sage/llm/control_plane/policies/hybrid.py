"""Hybrid: one joint policy for LLM and embedding requests on shared hardware.

The two kinds are scheduled as what they are on one host or GPU (``device_group``): an
embedding batch running slows the LLM beside it and the reverse. So embedding batch size,
timing and concurrency follow the slack of the LLM requests of the same group
(:mod:`.embedding_batches`), both kinds are admitted only when their deadline can be met,
and the LLM side orders by priority tier and slack with a wait-predicting admission
(:mod:`.llm_tiers`). LLM requests that carry prompt-prefix hashes go where their prefix
is cached (:class:`PrefixAwarePolicy`, never waiting for a busy engine) when more than
one engine could take them. Specialist engines are filled first, so an engine that
serves both kinds is spare capacity for a burst of either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from sage.llm.control_plane.policies.base import PlacingPolicy, PolicyOptions
from sage.llm.control_plane.policies.embedding_batches import (
    AT_RISK,
    BUSY,
    IDLE,
    EmbeddingBatcher,
)
from sage.llm.control_plane.policies.fair import FairSharePolicy
from sage.llm.control_plane.policies.llm_tiers import TieredLLMQueue
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from sage.llm.control_plane.types import Dispatch, EngineState, Request, RequestKind


class HybridPolicy(PlacingPolicy):
    """Joint LLM + embedding scheduling; every option has a default that needs no tuning."""

    name = "hybrid"

    class Options(PolicyOptions):
        batch_size: int = Field(64, ge=1, le=4096, description="most inputs per embedding batch")
        max_wait_s: float = Field(0.005, ge=0, le=10, description="batching delay, LLM quiet")
        defer_s: float = Field(0.0, ge=0, le=10, description="embedding deferral, LLM at risk")
        defer_share: float = Field(0.5, ge=0, le=1, description="of an embedding's own budget")
        pad_tolerance: float = Field(0.25, ge=0, le=10, description="padding per useful token")
        ttft_share: float = Field(0.6, gt=0, le=1, description="first token due, of the budget")
        steal: bool = False  # a lower tier goes first when it would miss and the higher can wait
        admit_share: float = Field(
            1.0, gt=0, le=1, description="latest admitted start, of the budget"
        )
        late_in_tier: bool = False  # a request past its latest start: first in its tier
        displace: bool = True  # a newcomer that would miss drops a longer queued one
        fair_share: bool = False  # LLM requests: fair share per tenant instead of tiers
        prefix_aware: bool = True  # LLM requests with prefix hashes: to their cached engine
        prefix_source: Literal["approximate", "precise"] = "approximate"  # see prefix_aware

    def __init__(
        self,
        max_queue: int = 1024,
        batch_size: int = 64,
        max_wait_s: float = 0.005,
        defer_s: float = 0.0,
        defer_share: float = 0.5,
        pad_tolerance: float = 0.25,
        ttft_share: float = 0.6,
        steal: bool = False,
        admit_share: float = 1.0,
        late_in_tier: bool = False,
        displace: bool = True,
        fair_share: bool = False,
        prefix_aware: bool = True,
        prefix_source: str = "approximate",
    ) -> None:
        super().__init__(max_queue)
        self.batch_size, self.max_wait_s = batch_size, max_wait_s
        self.embed = EmbeddingBatcher(batch_size, max_wait_s, defer_s, defer_share, pad_tolerance)
        self.tiers = TieredLLMQueue(
            ttft_share, steal=steal, admit_share=admit_share, late_in_tier=late_in_tier,
            displace=displace,
        )  # fmt: skip
        self.fair: FairSharePolicy | None = FairSharePolicy(max_queue) if fair_share else None
        self.prefix = (
            PrefixAwarePolicy(max_queue, source=prefix_source, hold_s=0.0) if prefix_aware else None
        )
        self.options = {
            "batch_size": batch_size, "max_wait_s": max_wait_s, "defer_s": defer_s,
            "defer_share": defer_share, "pad_tolerance": pad_tolerance,
            "ttft_share": ttft_share, "steal": steal, "admit_share": admit_share,
            "late_in_tier": late_in_tier, "displace": displace, "fair_share": fair_share, "prefix_aware": prefix_aware,
        }  # fmt: skip
        self._fair_running: dict[str, str] = {}  # fair-share LLM request -> device group
        self.idle_pure = self.fair is None  # fair banks credit in passes that place nothing

    # -- queue -----------------------------------------------------------------------
    @property
    def _llm(self) -> TieredLLMQueue | FairSharePolicy:
        return self.fair if self.fair is not None else self.tiers

    @property
    def llm(self) -> PrefixAwarePolicy | FairSharePolicy | None:
        """The inner policy holding LLM placement knowledge (the cache-report poller feeds
        a precise prefix-aware one)."""
        return self.prefix if self.fair is None else self.fair

    def admit(self, request: Request, engines: Sequence[EngineState], now: float) -> bool:
        if len(self) >= self.max_queue:
            return False
        if request.kind is RequestKind.EMBEDDING:
            return self.embed.admit(request, engines, now)
        return self._llm.admit(request, engines, now)

    def enqueue(self, request: Request, now: float) -> None:
        if request.kind is RequestKind.EMBEDDING:
            self.embed.enqueue(request, now)
        else:
            self._llm.enqueue(request, now)

    def remove(self, request_id: str) -> Request | None:
        return self.embed.remove(request_id) or self._llm.remove(request_id)

    def pending(self) -> list[Request]:
        return self.embed.pending() + self._llm.pending()

    def __len__(self) -> int:
        return len(self.embed) + len(self._llm)

    # -- co-location -------------------------------------------------------------------
    def llm_state(self, engine: EngineState, now: float) -> int:
        """How the LLM side of ``engine``'s device group is doing: IDLE, BUSY or AT_RISK."""
        group = engine.device_group
        if not group:
            return IDLE  # shares with nobody we know of
        if self.fair is not None:
            running = sum(1 for g in self._fair_running.values() if g == group)
            return AT_RISK if running and len(self.fair) else (BUSY if running else IDLE)
        if not self.tiers.running_in(group):
            return IDLE
        if len(self.tiers) or self.tiers.in_prefill(group, now):
            return AT_RISK
        return BUSY

    def llm_idle(self, engine: EngineState) -> bool:
        """Whether :meth:`llm_state` is IDLE (without telling BUSY from AT_RISK)."""
        group = engine.device_group
        if not group:
            return True
        if self.fair is not None:
            return group not in self._fair_running.values()
        return not self.tiers.running_in(group)

    # -- decisions -------------------------------------------------------------------
    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        # Embeddings first: on an engine that serves both kinds a short batch ahead of a
        # chat costs the chat milliseconds, a chat ahead of a batch costs the batch seconds.
        if len(self.embed):
            out.extend(self.embed.place(ledger, now, self.llm_state, self.llm_idle))
        if len(self._llm):
            out.extend(self._place_llm(ledger, now))
        return out

    def _place_llm(self, ledger: Ledger, now: float) -> list[Dispatch]:
        if self.fair is not None:
            dispatches = self.fair.place(ledger, now)
            if dispatches:
                group = {e.id: e.device_group for e in ledger.engines}
                for d in dispatches:
                    for r in d.requests:
                        self._fair_running[r.id] = group.get(d.engine_id, "")
            return dispatches
        placed = self.tiers.place(ledger, now, self._by_prefix if self.prefix is not None else None)
        return [Dispatch(engine.id, [request]) for request, engine in placed]

    def _by_prefix(self, request: Request, ledger: Ledger, now: float) -> EngineState | None:
        """The engine ``prefix_aware`` would choose, or ``None`` (then: least loaded)."""
        if not request.prefix_hashes or self.prefix is None:
            return None
        view = _NoTake(ledger)
        self.prefix.enqueue(request, now)
        chosen = self.prefix.place(view, now)  # type: ignore[arg-type]
        self.prefix.remove(request.id)
        if not chosen:
            return None
        engine_id = chosen[0].engine_id
        return next((e for e in ledger.engines if e.id == engine_id), None)

    def next_wakeup(self, now: float) -> float | None:
        times = [t for t in (self.embed.next_wakeup(now), self._llm_wakeup(now)) if t is not None]
        return min(times) if times else None

    def _llm_wakeup(self, now: float) -> float | None:
        if self.fair is not None:
            return self.fair.next_wakeup(now)
        return self.tiers.next_expiry(now) if len(self.tiers) else None

    def expire(self, now: float) -> list[Request]:
        """LLM requests past their latest start that cannot finish in time any more."""
        return self.tiers.expire(now) if self.fair is None and len(self.tiers) else []

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        self.embed.completions += 1  # a slot freed, maybe an LLM idle: engines may have room
        if request.kind is RequestKind.EMBEDDING:
            return
        if self.prefix is not None and request.prefix_hashes:
            self.prefix.on_complete(request, engine_id, now, ok)  # what the engine had cached
        if self.fair is not None:
            self._fair_running.pop(request.id, None)
            self.fair.on_complete(request, engine_id, now, ok)
        else:
            self.tiers.complete(request, now, ok)

    def describe(self) -> dict[str, Any]:
        batches = self.embed.batches
        return {
            **super().describe(),
            **self.options,
            "embedding_batches": batches,
            "embedding_inputs_per_batch": round(self.embed.batched_inputs / batches, 2)
            if batches else 0.0,
            "llm_correction": round(self.tiers.correction, 3),
            "llm_late": self.tiers.late,
            "llm_expired": self.tiers.expired,
            "llm_displaced": self.tiers.displaced,
        }  # fmt: skip


class _NoTake:
    """A ledger view on which ``prefix_aware`` chooses without reserving: the caller takes."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self.engines = ledger.engines
        self.total_free = ledger.total_free
        self.free_of = ledger.free_of
        self.least_loaded = ledger.least_loaded
        self.first_free = ledger.first_free
        self.next_free = ledger.next_free

    def take(self, engine: EngineState) -> None:
        return None
