"""What scheduling policies see: requests, engine snapshots and dispatch decisions.

Pure data, no I/O: shared by the live dispatcher and the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class RequestKind(str, Enum):
    CHAT = "chat"
    COMPLETION = "completion"
    EMBEDDING = "embedding"

    @property
    def engine_kind(self) -> str:
        """The engine kind that serves this request: ``"llm"`` or ``"embedding"``."""
        return "embedding" if self is RequestKind.EMBEDDING else "llm"


@dataclass(eq=False)
class Request:
    """One queued request. Times are seconds on the control plane's clock."""

    id: str
    kind: RequestKind
    model: str
    tenant: str = "default"
    priority: int = 0  # higher is more urgent
    arrival: float = 0.0
    deadline: float | None = None  # absolute time by which it should complete
    prompt_tokens: int = 0  # estimate, for cost-aware policies
    max_tokens: int = 0
    n_inputs: int = 1  # embedding: number of texts in this request
    payload: Any = field(default=None, repr=False)  # opaque to policies
    # chained hashes of the prompt's blocks (sage.llm.prefix_hash), for cache-aware placement
    prefix_hashes: tuple[int, ...] = field(default=(), repr=False)
    # the reply's usage: (cached_tokens, prompt_tokens), when the engine reported them
    reply_cache: tuple[int, int] | None = field(default=None, repr=False)

    @property
    def engine_kind(self) -> str:
        return self.kind.engine_kind


# Fields an EnginePool indexes: assigning one tells the pool holding the state.
_POOL_FIELDS = frozenset(
    {
        "id",
        "kinds",
        "models",
        "capacity",
        "in_flight",
        "healthy",
        "decode_tokens_per_s",
        "prefill_tokens_per_s",
        "embed_items_per_s",
    }
)


@dataclass
class EngineState:
    """A policy's view of one engine at one instant.

    Callers mutate it in place (``in_flight += 1`` on dispatch...). When it belongs to an
    :class:`~sage.llm.control_plane.pool.EnginePool`, each assignment to an indexed field
    also updates that pool's index.
    """

    id: str
    kinds: frozenset[str]  # {"llm"}, {"embedding"} or both
    models: frozenset[str]
    capacity: int = 1  # max concurrent dispatches (an embedding batch counts once)
    max_batch: int = 64  # embedding: max inputs per dispatched batch
    in_flight: int = 0
    healthy: bool = True
    # Rough speed figures, for deadline-aware admission; 0 means unknown.
    decode_tokens_per_s: float = 0.0
    prefill_tokens_per_s: float = 0.0
    embed_items_per_s: float = 0.0
    # Engines with the same non-empty group share hardware (one host's CPU cores, or one
    # GPU): work placed on one slows the others. "" = shares with nobody we know of.
    device_group: str = ""

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name in _POOL_FIELDS:
            pool = self.__dict__.get("_pool")
            if pool is not None:
                pool._changed(self, name)

    def __getstate__(self) -> dict[str, Any]:
        """Copies and pickles leave the pool behind."""
        state = dict(self.__dict__)
        state.pop("_pool", None)
        return state

    @property
    def free_slots(self) -> int:
        return max(0, self.capacity - self.in_flight) if self.healthy else 0

    def can_serve(self, request: Request) -> bool:
        return self.healthy and self.serves(request)

    def serves(self, request: Request) -> bool:
        """Whether this engine serves ``request``'s kind and model (healthy or not)."""
        return request.engine_kind in self.kinds and (
            not self.models or request.model in self.models
        )

    def estimate_service_s(self, request: Request) -> float:
        """Expected service time of ``request`` here, or 0.0 when speeds are unknown."""
        if request.kind is RequestKind.EMBEDDING:
            rate = self.embed_items_per_s
            return request.n_inputs / rate if rate else 0.0
        decode = request.max_tokens / self.decode_tokens_per_s if self.decode_tokens_per_s else 0.0
        prefill = (
            request.prompt_tokens / self.prefill_tokens_per_s if self.prefill_tokens_per_s else 0.0
        )
        return decode + prefill


@dataclass
class Dispatch:
    """Send ``requests`` to ``engine_id`` as one call (several only for embedding batches)."""

    engine_id: str
    requests: list[Request]
