"""Where to put one request: the slot ledger a ``schedule`` pass places requests with.

A ledger answers "which engine can take this request now" and :meth:`~Ledger.take`s
the slot, so one pass never over-fills an engine. Two implementations make the same
choices: :class:`ScanLedger` over a plain list of :class:`EngineState` (a free-slot dict
plus a scan of every engine per question, as policies always did) and an indexed
:class:`~sage.llm.control_plane.pool.EnginePool` (O(log engines) per question), which
the live dispatcher and the simulator pass. :func:`open_ledger` picks the right one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request


class Ledger(Protocol):
    """Free slots of an engine list during one ``schedule`` pass."""

    @property
    def engines(self) -> Sequence[EngineState]: ...

    def total_free(self) -> int: ...

    def free_of(self, engine: EngineState) -> int: ...

    def take(self, engine: EngineState) -> None: ...

    def first_free(self, request: Request) -> EngineState | None: ...

    def next_free(self, request: Request, start: int) -> int | None: ...

    def least_loaded(self, request: Request) -> EngineState | None: ...


def open_ledger(engines: Sequence[EngineState]) -> Ledger:
    """The ledger for one pass over ``engines``: the pool's index, or a scan."""
    if isinstance(engines, EnginePool) and engines.indexed:
        return engines.open_pass()
    return ScanLedger(engines)


class ScanLedger:
    """A free-slot dict over a plain engine list; every question scans the engines."""

    def __init__(self, engines: Sequence[EngineState]) -> None:
        self.engines = engines
        self.free = free_slots(engines)
        self._total = sum(self.free.values())

    def total_free(self) -> int:
        return self._total

    def free_of(self, engine: EngineState) -> int:
        return self.free.get(engine.id, 0)

    def take(self, engine: EngineState) -> None:
        self.free[engine.id] -= 1
        self._total -= 1

    def first_free(self, request: Request) -> EngineState | None:
        free = self.free
        return next((e for e in self.engines if free[e.id] > 0 and e.can_serve(request)), None)

    def next_free(self, request: Request, start: int) -> int | None:
        engines, free = self.engines, self.free
        n = len(engines)
        for step in range(n):
            pos = (start + step) % n
            engine = engines[pos]
            if free[engine.id] > 0 and engine.can_serve(request):
                return pos
        return None

    def least_loaded(self, request: Request) -> EngineState | None:
        return least_loaded(self.engines, self.free, request)


def free_slots(engines: Sequence[EngineState]) -> dict[str, int]:
    """A mutable ledger of free slots per engine for one ``schedule`` pass."""
    return {e.id: e.free_slots for e in engines}


def least_loaded(
    engines: Sequence[EngineState], free: dict[str, int], request: Request
) -> EngineState | None:
    """The serving engine with the lowest load, preferring specialists.

    An engine that serves only this request's kind goes first, so engines that can
    serve both kinds stay free to absorb bursts of either. Ties go to the earlier engine.
    """
    best: EngineState | None = None
    best_key: tuple[int, float] | None = None
    for engine in engines:
        slots = free.get(engine.id, 0)
        if slots <= 0 or not engine.can_serve(request):
            continue
        used = engine.capacity - slots
        key = (len(engine.kinds), used / max(1, engine.capacity))
        if best_key is None or key < best_key:
            best, best_key = engine, key
    return best


def anyone_can_serve(engines: Sequence[EngineState], request: Request) -> bool:
    return any(e.can_serve(request) for e in engines)
