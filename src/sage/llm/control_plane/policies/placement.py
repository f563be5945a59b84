"""Where to put one request: shared engine-choice helpers for the policies.

Pure functions over :class:`EngineState` snapshots plus a ``free`` slot ledger that
the calling ``schedule`` decrements, so one pass never over-fills an engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from sage.llm.control_plane.types import EngineState, Request


def free_slots(engines: Sequence[EngineState]) -> dict[str, int]:
    """A mutable ledger of free slots per engine for one ``schedule`` pass."""
    return {e.id: e.free_slots for e in engines}


def least_loaded(
    engines: Sequence[EngineState], free: dict[str, int], request: Request
) -> EngineState | None:
    """The serving engine with the lowest load, preferring specialists.

    An engine that serves only this request's kind goes first, so engines that can
    serve both kinds stay free to absorb bursts of either.
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
