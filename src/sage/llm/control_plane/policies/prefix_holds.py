"""Holding a request for the busy engine that caches its prefix, and when holds end.

``prefix_aware`` may leave a request queued for an engine with no free slot that holds
more of its prefix than any free one (:meth:`PrefixHolds._may_wait`). That wait has its
own state (when each request first waited, how many wait per engine in a pass, the
decision a held request was last taken on) and its own clock (the policy's wake-ups), kept
here apart from placement (:mod:`.prefix_aware`), which only asks whether to wait.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sage.llm.control_plane.policies.prefix_index import BlockIndex
from sage.llm.control_plane.policies.prefix_slots import SlotFigures
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request

DEFAULT_REPLY_TOKENS = 256  # a reply's length when the request sets no max_tokens


class PrefixHolds:
    """Mixin of :class:`~sage.llm.control_plane.policies.prefix_aware.PrefixAwarePolicy`:
    which requests wait for their cached engine, and until when."""

    hold_s: float
    hold_blocks: int
    _queue: dict[str, Request]
    _slots: SlotFigures | None
    _pass_slots: Callable[[EnginePool], SlotFigures]
    _epoch: int
    _added: dict[int, int]

    def _init_holds(self) -> None:
        self._held_since: dict[str, float] = {}  # request id -> when it first waited
        self._waiting: dict[str, int] = {}  # this pass: engine id -> requests held for it
        # A held request's decision, re-used while nothing it depends on changed (see
        # _still_held): request id -> what it was taken on.
        self._kept: dict[str, tuple[Any, ...]] = {}

    def _keep(
        self,
        request: Request,
        seen: list[int],
        free: list[int],
        engine_id: str,
        index: BlockIndex,
        top: float,
    ) -> None:
        """Remember what holding ``request`` for ``engine_id`` was decided on (the engines
        ``seen`` holding its first block, their ``free`` slots, the awaited ``index``, the
        pass's ``top`` score), for :meth:`_still_held`."""
        self._kept[request.id] = (
            self._epoch, self._added.get(request.prefix_hashes[0]), seen, [free[p] for p in seen],
            engine_id, index, index.reach, index.touched,
            self._waiting[engine_id] - 1, self._held_since[request.id], top,
        )  # fmt: skip

    def _may_wait(
        self,
        request: Request,
        now: float,
        engine: EngineState,
        index: BlockIndex,
        match: int,
        elsewhere: int,
    ) -> bool:
        """Whether ``request`` may still wait for the busy ``engine``, whose index has
        ``match`` of its blocks against ``elsewhere`` on the best free engine.

        Only what the engine still holds counts (the blocks within the reach its replies
        taught). ``hold_s`` counts from the first wait, not the arrival (a request that
        queued while every engine was busy would otherwise never wait, and under load the
        policy would place like least_loaded). When the engine's speeds are known, a
        request waits only while the replies ahead of it (half the running one, then those
        already waiting, over its slots) take less than prefilling the difference
        elsewhere: a hot engine's queue must not grow to ``hold_s`` while a free one idles."""
        held = index.held(request.prefix_hashes, match)
        if held - elsewhere < self.hold_blocks:
            return False
        waiting = self._waiting.get(engine.id, 0)
        decode, prefill = engine.decode_tokens_per_s, engine.prefill_tokens_per_s
        if decode > 0 and prefill > 0 and request.prompt_tokens:
            n = len(request.prefix_hashes)
            service = (request.max_tokens or DEFAULT_REPLY_TOKENS) / decode + (
                request.prompt_tokens * (n - held) / n / prefill
            )
            cold = request.prompt_tokens * (held - elsewhere) / n / prefill
            if (0.5 + waiting / max(1, engine.capacity)) * service > cold:
                return False
        since = self._held_since.setdefault(request.id, now)
        if now - since >= self.hold_s:
            return False
        self._waiting[engine.id] = waiting + 1
        return True

    def _still_held(
        self, kept: tuple[Any, ...], request: Request, pool: EnginePool, now: float
    ) -> bool:
        """Whether ``request``, held when :meth:`_choose_indexed` last scored it, would be
        held again now, judged by what that decision read: the same engines hold its first
        block with the same matches (no add of that block, no other index change), they
        have the same free slots, the awaited engine's reach and age count are the same,
        no more requests wait for it ahead of this one, its hold has not run out, and the
        pool is as balanced with the same top score. Then it counts as a waiter, as then."""
        epoch, added, seen, frees, engine_id, index, reach, touched, waiting, since, top = kept
        if (
            epoch != self._epoch
            or added != self._added.get(request.prefix_hashes[0])
            or index.reach != reach
            or (reach is not None and index.touched != touched)
            or now - since >= self.hold_s
        ):
            return False
        slots = self._slots
        if slots is None or slots.moves != pool.moves:
            slots = self._pass_slots(pool)
        if slots.most <= 0 or slots.unbalanced or slots.top != top or not slots.uniform:
            return False
        free = slots.free
        if [free[p] for p in seen] != frees:
            return False
        ahead = self._waiting.get(engine_id, 0)
        if ahead > waiting:
            return False
        self._waiting[engine_id] = ahead + 1
        return True

    def next_wakeup(self, now: float) -> float | None:
        """When the first held request stops waiting for its engine."""
        held = self._held_since
        if not held:
            return None
        for request_id in [r for r in held if r not in self._queue]:
            del held[request_id]  # taken out some other way (a wrapping policy)
        if not self.hold_s or not held:
            return None
        times = [t + self.hold_s for t in held.values() if t + self.hold_s > now]
        return min(times) if times else None

    def unchanged_until(self, now: float) -> float:
        """Time alone changes a decision here only when a hold runs out: the earliest
        still running by ``_may_wait``'s own test (which may end a float's width after
        ``next_wakeup``'s time)."""
        hold = self.hold_s
        ends = [t + hold for t in self._held_since.values() if now - t < hold]
        return min(ends, default=math.inf)
