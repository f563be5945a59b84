"""Prefix-cache-aware placement: send a request where its prompt prefix is cached.

Prefill is what a cached prefix saves (on CPU a 1.8k-token system prompt took 9 s cold and
0.07 s warm), so a request should go to an engine that already holds its prefix, unless
that engine is overloaded. Like llm-d's prefix scorer, an engine scores by the fraction
of the request's prompt blocks (:mod:`sage.llm.prefix_hash`) it holds, minus a load term;
like sgl-router, when the pool is out of balance (in-flight spread above ``balance_abs``
*and* the busiest engine above ``balance_rel`` times the idlest) the request simply goes
to the least loaded engine, so one hot prefix cannot pile all traffic on one engine.

Beyond both: a request whose best engine is busy may wait for it up to ``hold_s`` when
that engine still holds ``hold_blocks`` more of its prefix than any free one and, once
speeds are known, while the replies ahead of it there cost less than prefilling the
difference elsewhere (with one slot per engine, "free engines only" would otherwise mean
"least loaded" whenever the pool is busy); and a prefix cached nowhere goes back to the
engine it last went to, so each engine keeps its share of prefixes. The waits' own state
and clock are :mod:`.prefix_holds`.

What the policy believes each engine holds (:mod:`.prefix_knowledge`) comes either from
its own routing (``source="approximate"``, like sgl-router's radix trees, corrected by the
``cached_tokens`` the replies report) or from the engines (``"precise"``: what an engine's
``GET /v1/cache`` or a simulated cache reports). A wrong guess is only a miss: an engine
that evicted a prefix or died is just scored lower (a dead one is not a candidate).
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import compress, repeat
from operator import contains
from typing import Any, Literal

from pydantic import Field

from sage.llm.control_plane.policies.base import PlacingPolicy, PolicyOptions
from sage.llm.control_plane.policies.placement import Ledger
from sage.llm.control_plane.policies.prefix_holds import PrefixHolds
from sage.llm.control_plane.policies.prefix_index import NO_INDEX, BlockIndex, leading
from sage.llm.control_plane.policies.prefix_knowledge import PrefixKnowledge
from sage.llm.control_plane.policies.prefix_slots import SlotFigures
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import Dispatch, EngineState, Request

# A prefix cached nowhere (evicted, or never seen) still goes back to the engine it was
# last sent to, while that engine's load term is at most this: each engine keeps serving
# the same share of prefixes (its cache refills with them), as consistent hashing would,
# instead of every engine slowly seeing every prefix.
HOME_LOAD = 0.25

__all__ = ["BlockIndex", "PrefixAwarePolicy", "leading"]


class PrefixAwarePolicy(PrefixKnowledge, PrefixHolds, PlacingPolicy):
    """Arrival-order queue; each request to the engine expected to hold most of its prefix."""

    name = "prefix_aware"

    class Options(PolicyOptions):
        source: Literal["approximate", "precise"] = "approximate"
        load_weight: float = Field(0.5, ge=0, le=100, description="score lost per unit load")
        balance_abs: int = Field(2, ge=0, description="in-flight spread tolerated")
        balance_rel: float = Field(1.5, ge=1, description="busiest/idlest ratio tolerated")
        hold_s: float = Field(1.0, ge=0, le=60, description="longest wait for a cached engine")
        hold_blocks: int = Field(4, ge=1, description="blocks an engine must add to be waited for")
        max_blocks: int = Field(65536, ge=1, description="blocks remembered per engine")

    def __init__(
        self,
        max_queue: int = 1024,
        source: str = "approximate",
        load_weight: float = 0.5,
        balance_abs: int = 2,
        balance_rel: float = 1.5,
        hold_s: float = 1.0,
        hold_blocks: int = 4,
        max_blocks: int = 65536,
    ) -> None:
        super().__init__(max_queue)
        self.source = source
        self.load_weight = load_weight
        self.balance_abs = balance_abs
        self.balance_rel = balance_rel
        self.hold_s = hold_s
        self.hold_blocks = hold_blocks
        self.max_blocks = max_blocks
        self._queue: dict[str, Request] = {}  # arrival order (dicts keep insertion order)
        self._index_by_pos: list[BlockIndex] = []  # an EnginePool's engines', by position
        self._blocks_by_pos: list[OrderedDict[int, int]] = []  # and their block dicts
        self._firsts_by_pos: list[Any] = []  # their first blocks (or, if unknown, blocks)
        self._layout: object = None  # the pool layout and index those were built for
        self._indexed = 0
        self._healthy: list[EngineState] = []  # an EnginePool's healthy engines
        self._healthy_version = -1  # at this profile version
        self._all_healthy = False  # whether those are all the pool's engines
        self._slots: SlotFigures | None = None  # the pass's load figures (indexed pools)
        self._pos_of: dict[str, int] = {}  # an EnginePool's engine ids -> positions
        self._init_knowledge()
        self._init_holds()

    # -- queue -------------------------------------------------------------------------
    def enqueue(self, request: Request, now: float) -> None:
        self._queue[request.id] = request

    def remove(self, request_id: str) -> Request | None:
        self._held_since.pop(request_id, None)
        self._kept.pop(request_id, None)
        return self._queue.pop(request_id, None)

    def pending(self) -> list[Request]:
        return list(self._queue.values())

    def __len__(self) -> int:
        return len(self._queue)

    # -- decisions -------------------------------------------------------------------------
    def place(self, ledger: Ledger, now: float) -> list[Dispatch]:
        out: list[Dispatch] = []
        if not ledger.total_free():
            return out
        pool = ledger if isinstance(ledger, EnginePool) and ledger.indexed else None
        if pool is None:
            engines = [e for e in ledger.engines if e.healthy]
        else:  # the healthy engines change only with the pool's profile version
            version = pool.profiles()[0]
            if version != self._healthy_version:
                self._healthy = [e for e in pool if e.healthy]
                self._healthy_version = version
                self._all_healthy = len(self._healthy) == len(pool)  # (membership: a version)
                self._epoch += 1  # speeds and health: what a hold was decided on
            engines = self._healthy
        every = self._all_healthy if pool is not None else len(engines) == len(ledger.engines)
        if len(self.index) > len(engines) or not every:
            alive = {e.id for e in engines}
            for engine_id in [k for k in self.index if k not in alive]:
                self.forget(engine_id)  # dead or removed: a miss from now on, never an error
        if pool is not None:  # this pool's figures: within the pass only moves count
            self._pass_slots(pool).zero = -1  # homes and index sizes may have changed since
        elif self._slots is not None:
            self._slots.zero = -1
        self._waiting = {}
        kept = self._kept
        for request in list(self._queue.values()):
            if not ledger.total_free():
                break
            if pool is not None and request.prefix_hashes:
                held = kept.get(request.id)
                if held is not None and self._still_held(held, request, pool, now):
                    continue
                engine = self._choose_indexed(request, engines, pool, now)
            else:
                engine = self._choose(request, engines, ledger, now)
            if engine is None:
                continue
            del self._queue[request.id]
            self._held_since.pop(request.id, None)
            kept.pop(request.id, None)
            ledger.take(engine)
            if pool is None:
                self._slots = None
            if request.prefix_hashes:
                self._note_sent(request, engine.id)
            out.append(Dispatch(engine.id, [request]))
        return out

    def _choose(
        self, request: Request, engines: list[EngineState], ledger: Ledger, now: float
    ) -> EngineState | None:
        """The engine for ``request`` now, or ``None`` (nothing free, or worth waiting)."""
        hashes = request.prefix_hashes
        if not hashes:
            return ledger.least_loaded(request)
        free_of, index, n = ledger.free_of, self.index, len(hashes)
        servable = 0
        lo = hi = -1
        best_any, best_any_match = None, -1
        best_free, best_free_match, best_key = None, 0, (0.0, 0, 0)
        for engine in engines:  # one pass: loads, matches and scores
            if not engine.can_serve(request):
                continue
            servable += 1
            free = free_of(engine)
            busy = engine.capacity - free
            lo = busy if lo < 0 or busy < lo else lo
            hi = busy if busy > hi else hi
            held = index.get(engine.id)
            match = held.match(hashes) if held is not None else 0
            if match > best_any_match:
                best_any, best_any_match = engine, match
            if free > 0:
                key = (match / n - self.load_weight * busy / max(1, engine.capacity),
                       -held.homes if held is not None else 0,
                       -len(held.blocks) if held is not None else 0)  # fmt: skip
                if best_free is None or key > best_key:  # ties: fewer homes, then a smaller index
                    best_free, best_free_match, best_key = engine, match, key
        if best_free is None:
            return None
        if best_any_match <= 0:  # cached nowhere: back to where its prefix went last
            home = self._free_home(request, engines, ledger)
            if home is not None:
                best_free = home
        if servable == 1 or (hi - lo > self.balance_abs and hi > self.balance_rel * lo):
            return ledger.least_loaded(request)  # out of balance: load decides alone
        if (
            best_any is not best_free
            and best_any is not None
            and free_of(best_any) <= 0
            and best_any_match - best_free_match >= self.hold_blocks
            and self._may_wait(
                request, now, best_any, index[best_any.id], best_any_match, best_free_match
            )
        ):
            return None  # its cached engine frees up soon: cheaper than a cold prefill
        return best_free

    def _choose_indexed(
        self, request: Request, engines: list[EngineState], pool: EnginePool, now: float
    ) -> EngineState | None:
        """:meth:`_choose`'s decision on an indexed pool in which every engine is healthy,
        serves ``request`` and has the same capacity (else: :meth:`_choose` itself), in
        O(engines holding the first block) Python steps: loads are read
        with C-speed builtins over the pool's slot lists. The engines holding none of the
        prefix score ``0 - load``: the best of them is the best of *all* free engines by
        that score (an engine holding some scores at least as well, and the earliest wins
        ties), so only the holders need their match counted."""
        free, caps, layout = pool.slot_view()
        n_engines = len(free)
        if n_engines < 2 or pool.serving(request)[0] != n_engines:
            return self._choose(request, engines, pool, now)
        slots = self._slots
        if slots is None or slots.moves != pool.moves:
            slots = self._pass_slots(pool)
        if not slots.uniform:
            return self._choose(request, engines, pool, now)
        cap = caps[0]
        if slots.most <= 0:
            return None
        if slots.unbalanced:
            return pool.least_loaded(request)  # out of balance: load decides alone
        if self._layout is not layout or self._indexed != len(self.index):
            self._by_position(pool, layout)
        by_pos = self._index_by_pos
        hashes, weight, scale, top = request.prefix_hashes, self.load_weight, max(1, cap), slots.top
        n = len(hashes)
        seen = self._holders.get(hashes[0])  # the positions holding its first block
        if seen is None:
            if len(self._holders) >= self.max_blocks:
                self._holders.clear()
            seen = self._holders[hashes[0]] = list(
                compress(range(n_engines), map(contains, self._firsts_by_pos, repeat(hashes[0])))
            )
        best, best_key, best_match = -1, (top, 0, 0), 0
        any_pos, any_match = -1, 0
        for pos in seen:  # ascending: the earliest wins ties, as in _choose
            held = by_pos[pos]
            match = held.match(hashes)
            if match > any_match:
                any_pos, any_match = pos, match
            f = free[pos]
            if f > 0:
                key = (match / n - weight * (cap - f) / scale, -held.homes, -len(held.blocks))
                if best < 0 or key > best_key:
                    best, best_key, best_match = pos, key, match
        if any_pos < 0:  # cached nowhere: back to where its prefix went last
            pos = self._pos_of.get(self._home.get(hashes[0], ""), -1)
            if pos >= 0 and free[pos] > 0 and (cap - free[pos]) * weight / scale <= HOME_LOAD:
                return pool[pos]
        tied = best >= 0 and best_key[0] <= top  # no holder scores above a non-holder
        if best < 0 or best_key[0] <= top:  # a non-holder may score as well: find the best
            zero = slots.best_empty(by_pos)
            empty = by_pos[zero]  # holds none (else a holder wins)
            zero_key = (top, -empty.homes, -len(empty.blocks))
            if best < 0 or zero_key > best_key or (zero_key == best_key and zero < best):
                best, best_match = zero, 0
        if (
            any_pos >= 0
            and any_pos != best
            and free[any_pos] <= 0
            and any_match - best_match >= self.hold_blocks
            and self._may_wait(request, now, pool[any_pos], by_pos[any_pos], any_match, best_match)
        ):  # its cached engine frees up soon: cheaper than a cold prefill
            if not tied:
                self._keep(request, seen, free, pool[any_pos].id, by_pos[any_pos], top)
            return None
        return pool[best]

    def _pass_slots(self, pool: EnginePool) -> SlotFigures:
        """The load figures of the pool's free slots now (kept until a slot moves)."""
        slots = self._slots
        if slots is None:
            slots = self._slots = SlotFigures(self.load_weight, self.balance_abs, self.balance_rel)
        free, caps, _ = pool.slot_view()
        if slots.moves != pool.moves or slots.free is not free:  # (or another pool's)
            slots.update(free, caps, pool.moves)
        return slots

    def _by_position(self, pool: EnginePool, layout: object) -> None:
        """Each pool engine's index by position (their block dicts are kept in place)."""
        index = self.index
        self._index_by_pos = [index.get(e.id, NO_INDEX) for e in pool]
        self._blocks_by_pos = [held.blocks for held in self._index_by_pos]
        firsts = [held.firsts for held in self._index_by_pos]  # who holds a first block
        self._firsts_by_pos = self._blocks_by_pos if None in firsts else firsts
        self._pos_of = {e.id: pos for pos, e in enumerate(pool)}
        self._layout, self._indexed = layout, len(index)
        self._epoch += 1
        self._holders.clear()

    def _free_home(
        self, request: Request, engines: list[EngineState], ledger: Ledger
    ) -> EngineState | None:
        """The engine ``request``'s prefix was last sent to, if it has a free slot and is
        not much busier than the rest (see :data:`HOME_LOAD`)."""
        home_id = self._home.get(request.prefix_hashes[0])
        for engine in engines:
            if engine.id == home_id and engine.can_serve(request):
                free = ledger.free_of(engine)
                busy = engine.capacity - free
                if free > 0 and self.load_weight * busy / max(1, engine.capacity) <= HOME_LOAD:
                    return engine
        return None

    def describe(self) -> dict[str, Any]:
        rate = self.expected_hits / self.expected_blocks if self.expected_blocks else 0.0
        return {
            **super().describe(),
            "source": self.source,
            "hold_s": self.hold_s,
            "balance_abs": self.balance_abs,
            "balance_rel": self.balance_rel,
            "expected_hit_rate": round(rate, 4),
            "indexed_blocks": {k: len(v.blocks) for k, v in self.index.items()},
            "homes": {k: v.homes for k, v in self.index.items()},
            "index_reach": {k: v.reach for k, v in self.index.items()},
        }
