"""An engine list that keeps its own placement index, so policies stop scanning it.

A ``schedule`` pass over a plain ``list[EngineState]`` rebuilds a free-slot ledger and
walks every engine for every placement: O(engines) per request, which dominates a
simulation of 64-256 engines. :class:`EnginePool` is still a ``Sequence[EngineState]``
(anything that takes a list of engines takes it), but it also keeps, per request class
(engine kind, model):

* the engines with a free slot, in list order (``fifo``'s first free engine,
  ``round_robin``'s next one after a cursor): a sorted list, bisected;
* those engines in ``least_loaded`` order, ``(specialist first, in_flight/capacity,
  list position)``: a heap with lazy deletion, built on first use;
* the healthy servers' slot and in-flight totals (``slo_aware`` admission);

plus the pool's distinct speed profiles. Each member :class:`EngineState` reports its own
changes (``in_flight``, ``healthy``, ``capacity``, ``kinds``, ``models``, speeds), so
callers keep mutating engine states as before and the index stays current.

Within a pass a policy reserves slots with :meth:`EnginePool.take`; the caller's
``in_flight += 1`` for each returned dispatch converts a reservation into the real
count. Reservations a caller never counted are dropped when the next pass opens, so a
pool decides exactly as a plain list with the same states would.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from sage.llm.control_plane.types import EngineState, Request

_VERSIONS = itertools.count(1)  # profile versions, unique across pools


def profile_key(engine: EngineState) -> tuple[Any, ...]:
    """What a service-time estimate depends on: engines with equal keys estimate alike."""
    return (
        engine.healthy,
        engine.kinds,
        engine.models,
        engine.decode_tokens_per_s,
        engine.prefill_tokens_per_s,
        engine.embed_items_per_s,
    )


class _Class:
    """Index of the engines that can serve one (engine kind, model) request class."""

    __slots__ = ("members", "free", "heap", "heap_limit", "servers", "slots", "busy")

    def __init__(self, members: list[int]) -> None:
        self.members = members  # positions in the pool, ascending
        self.free: list[int] = []  # members with a free slot, ascending
        self.heap: list[tuple[int, float, int, int]] | None = None  # least-loaded order
        self.heap_limit = 4 * len(members) + 32  # compact the lazy heap beyond this
        self.servers = 0  # healthy members
        self.slots = 0  # sum of max(1, capacity) over healthy members
        self.busy = 0  # sum of min(in_flight, capacity) over healthy members


class EnginePool(Sequence[EngineState]):
    """Engine states in a fixed order plus an incrementally kept placement index.

    Engine ids must be unique and each state may sit in one pool at a time (adding it
    to another pool turns this one into a plain sequence: ``indexed`` becomes False and
    policies scan it like a list).
    """

    def __init__(self, engines: Iterable[EngineState] = ()) -> None:
        self._engines: list[EngineState] = list(engines)
        self.indexed = True  # False when the index cannot be trusted (shared, duplicates)
        self._reindex()

    # -- sequence ------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._engines)

    @overload
    def __getitem__(self, index: int) -> EngineState: ...

    @overload
    def __getitem__(self, index: slice) -> list[EngineState]: ...

    def __getitem__(self, index: int | slice) -> EngineState | list[EngineState]:
        return self._engines[index]

    def __iter__(self) -> Iterator[EngineState]:
        return iter(self._engines)

    def __repr__(self) -> str:
        return f"EnginePool({self._engines!r})"

    def append(self, engine: EngineState) -> None:
        self._engines.append(engine)
        self._reindex()

    # -- placement queries (the slot-ledger interface policies use) --------------------
    def open_pass(self) -> EnginePool:
        """Start a ``schedule`` pass: drop reservations no caller counted."""
        if self._taken:
            reserved = self._reserved
            for pos in self._taken:
                if reserved[pos]:
                    reserved[pos] = 0
                    self._refresh(pos)
            self._taken.clear()
        return self

    @property
    def engines(self) -> EnginePool:
        return self

    def total_free(self) -> int:
        return self._total

    def free_of(self, engine: EngineState) -> int:
        return self._free[self._pos[id(engine)]]

    def take(self, engine: EngineState) -> None:
        """Reserve one slot of ``engine`` (which has a free one) for a dispatch of this
        pass: :meth:`_refresh` specialised to "one free slot less"."""
        pos = self._pos[id(engine)]
        self._reserved[pos] += 1
        self._taken.append(pos)
        self.moves += 1
        new = self._free[pos] - 1
        if new < 0:  # over-filling (a policy's own choice): the general path copes
            self._refresh(pos)
            return
        self._free[pos] = new
        self._total -= 1
        stamp = self._stamp[pos] + 1
        self._stamp[pos] = stamp
        if new:
            cap = self._cap[pos]
            entry = (self._nkinds[pos], (cap - new) / (cap if cap > 1 else 1), pos, stamp)
            for c in self._classes_of[pos]:
                heap = c.heap
                if heap is not None:
                    heapq.heappush(heap, entry)
                    if len(heap) > c.heap_limit:
                        self._build_heap(c)
        else:
            for c in self._classes_of[pos]:
                del c.free[bisect_left(c.free, pos)]

    def slot_view(self) -> tuple[list[int], list[int], object]:
        """``(free slots, capacities, layout)`` of every engine by list position: the
        index's live lists, so a policy that scores every engine can use C-speed builtins
        (``max(free)``) instead of ``free_of`` per engine. Read them, never write them.
        ``layout`` is a token whose identity changes whenever positions may have moved;
        :attr:`moves` changes whenever a free slot count or a capacity may have."""
        return self._free, self._cap, self._pos

    def first_free(self, request: Request) -> EngineState | None:
        """The first engine in list order that can serve ``request`` now."""
        c = self._classes.get((request.engine_kind, request.model)) or self._class(request)
        return self._engines[c.free[0]] if c.free else None

    def next_free(self, request: Request, start: int) -> int | None:
        """Position of the first engine at or after ``start`` (cyclically) that can
        serve ``request`` now."""
        c = self._classes.get((request.engine_kind, request.model)) or self._class(request)
        free = c.free
        if not free:
            return None
        i = bisect_left(free, start)
        return free[i] if i < len(free) else free[0]

    def least_loaded(self, request: Request) -> EngineState | None:
        """Same choice as :func:`~sage.llm.control_plane.policies.placement.least_loaded`:
        lowest ``(len(kinds), used / capacity)``, earliest in the list among equals."""
        c = self._classes.get((request.engine_kind, request.model)) or self._class(request)
        heap = c.heap
        if heap is None:
            heap = self._build_heap(c)
        stamp = self._stamp
        while heap:
            top = heap[0]
            if top[3] == stamp[top[2]]:  # current (entries exist only for free engines)
                return self._engines[top[2]]
            heapq.heappop(heap)
        return None

    def serving(self, request: Request) -> tuple[int, int, int]:
        """``(servers, slots, busy)`` over the healthy engines that can serve ``request``:
        their count, ``sum(max(1, capacity))`` and ``sum(min(in_flight, capacity))``."""
        c = self._classes.get((request.engine_kind, request.model)) or self._class(request)
        return c.servers, c.slots, c.busy

    def profiles(self) -> tuple[int, list[EngineState]]:
        """``(version, one engine per distinct profile_key)``, first occurrence first;
        the version changes whenever any engine's profile does."""
        if self._profiles is None:
            seen: dict[tuple[Any, ...], EngineState] = {}
            for engine in self._engines:
                seen.setdefault(profile_key(engine), engine)
            self._profiles = list(seen.values())
        return self._profile_version, self._profiles

    def shape(self) -> tuple[int, int, int]:
        """``(profile version, engines, total capacity)``: changes whenever an engine's
        health, speeds or kinds, the membership or a capacity may have. What a policy keys
        figures on that it reads from the whole pool and keeps between passes."""
        return self._profile_version, len(self._engines), sum(self._cap)

    # -- keeping the index current ------------------------------------------------------
    def _changed(self, engine: EngineState, name: str) -> None:
        """Called by a member :class:`EngineState` after ``name`` was assigned."""
        if not self.indexed:
            return
        pos = self._pos.get(id(engine))
        if pos is None:
            return
        if name == "in_flight":
            self._in_flight_moved(engine, pos, engine.in_flight - self._seen[pos])
        elif name == "capacity":
            self._refresh(pos)
        elif name in ("kinds", "models", "id"):
            self._reindex()
        else:  # healthy or a speed: estimates may change
            self._profiles = None
            self._profile_version = next(_VERSIONS)
            if name == "healthy":
                self._refresh(pos)

    def add_in_flight(self, engine: EngineState, delta: int) -> None:
        """``engine.in_flight += delta`` for a hot caller (the simulator): same effect,
        without the attribute hook's detour."""
        if engine.__dict__.get("_pool") is not self or not self.indexed:
            engine.in_flight += delta
            return
        in_flight = engine.in_flight + delta
        object.__setattr__(engine, "in_flight", in_flight)
        pos = self._pos[id(engine)]
        self._in_flight_moved(engine, pos, in_flight - self._seen[pos])

    def _in_flight_moved(self, engine: EngineState, pos: int, delta: int) -> None:
        in_flight = engine.in_flight
        self._seen[pos] = in_flight
        if delta > 0:
            reserved = self._reserved[pos]
            if reserved:  # the caller is counting dispatches this pass reserved
                if delta <= reserved and engine.healthy and in_flight <= engine.capacity:
                    # Free slots and load are unchanged: only the busy totals move.
                    self._reserved[pos] = reserved - delta
                    delta = in_flight - self._busy[pos]
                    self._busy[pos] = in_flight
                    for c in self._classes_of[pos]:
                        c.busy += delta
                    return
                self._reserved[pos] = reserved - delta if reserved > delta else 0
        self._refresh(pos)

    def _lost(self) -> None:
        """A member state moved to another pool: stop trusting the index."""
        self.indexed = False

    def _reindex(self) -> None:
        engines = self._engines
        n = len(engines)
        self._pos: dict[int, int] = {}
        for pos, engine in enumerate(engines):
            self._pos[id(engine)] = pos
            old = engine.__dict__.get("_pool")
            if old is not None and old is not self:
                old._lost()
            object.__setattr__(engine, "_pool", self)
        self.indexed = len(self._pos) == n and len({e.id for e in engines}) == n
        self._seen = [e.in_flight for e in engines]
        self._reserved = [0] * n
        self._taken: list[int] = []
        self._free = [0] * n
        self._cap = [e.capacity for e in engines]
        self._nkinds = [len(e.kinds) for e in engines]
        self._stamp = [0] * n
        self._slots = [0] * n  # contribution to its classes' ``slots`` (0: not serving)
        self._busy = [0] * n  # and to their ``busy``
        self._classes: dict[tuple[str, str], _Class] = {}
        self._classes_of: list[list[_Class]] = [[] for _ in range(n)]
        self._total = 0
        self.moves = getattr(self, "moves", 0) + 1  # counts changes of _free and _cap
        self._profiles: list[EngineState] | None = None
        self._profile_version = next(_VERSIONS)
        for pos in range(n):
            self._refresh(pos)

    def _class(self, request: Request) -> _Class:
        kind, model = request.engine_kind, request.model
        members = [
            pos
            for pos, e in enumerate(self._engines)
            if kind in e.kinds and (not e.models or model in e.models)
        ]
        c = _Class(members)
        c.free = [pos for pos in members if self._free[pos] > 0]
        for pos in members:
            slots = self._slots[pos]
            c.servers += slots > 0
            c.slots += slots
            c.busy += self._busy[pos]
            self._classes_of[pos].append(c)
        self._classes[(kind, model)] = c
        return c

    def _build_heap(self, c: _Class) -> list[tuple[int, float, int, int]]:
        free, cap, nkinds, stamp = self._free, self._cap, self._nkinds, self._stamp
        heap = [
            (nkinds[pos], (cap[pos] - free[pos]) / (cap[pos] if cap[pos] > 1 else 1), pos,
             stamp[pos])
            for pos in c.free
        ]  # fmt: skip
        heapq.heapify(heap)
        c.heap = heap
        return heap

    def _refresh(self, pos: int) -> None:
        """Re-derive engine ``pos``'s free slots and load key; update what depends on them."""
        engine = self._engines[pos]
        cap = engine.capacity
        in_flight = engine.in_flight
        classes = self._classes_of[pos]
        if engine.healthy:
            new = cap - in_flight - self._reserved[pos]
            if new < 0:
                new = 0
            busy = in_flight if in_flight < cap else cap
            slots = cap if cap > 1 else 1
        else:
            new = busy = slots = 0
        if busy != self._busy[pos]:
            delta = busy - self._busy[pos]
            self._busy[pos] = busy
            for c in classes:
                c.busy += delta
        if slots != self._slots[pos]:
            delta = slots - self._slots[pos]
            serving = (slots > 0) - (self._slots[pos] > 0)
            self._slots[pos] = slots
            for c in classes:
                c.slots += delta
                c.servers += serving
        old = self._free[pos]
        if new == old and cap == self._cap[pos]:
            return
        self._free[pos] = new
        self._cap[pos] = cap
        self.moves += 1
        self._total += new - old
        stamp = self._stamp[pos] + 1
        self._stamp[pos] = stamp
        if new > 0:
            if not old:
                for c in classes:
                    insort(c.free, pos)
            entry = (self._nkinds[pos], (cap - new) / (cap if cap > 1 else 1), pos, stamp)
            for c in classes:
                heap = c.heap
                if heap is not None:
                    heapq.heappush(heap, entry)
                    if len(heap) > c.heap_limit:
                        self._build_heap(c)
        elif old:
            for c in classes:
                del c.free[bisect_left(c.free, pos)]
