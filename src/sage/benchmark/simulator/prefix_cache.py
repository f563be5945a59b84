"""A modelled engine prefix cache: which prompt prefixes an engine holds, LRU in tokens.

Mirrors :mod:`sage.llm.engines.prefix_cache` at the level the simulator needs: a state is
stored when a request completes (its prompt and answer), a request reuses the part of its
prefix its engine holds, and only the rest is prefilled. One entry per prefix id (the
workload's tenant prompt or session history, :mod:`sage.benchmark.serving.prefixes`)
holding the longest length seen; capacity counts tokens of KV, like the real budget.

For a policy in precise mode (``prefix_aware`` with ``source="precise"``) the engines
report what they hold, as the control plane's ``GET /v1/cache`` poller hands it over:
:class:`CacheReports` polls every ``interval_s`` of simulated time and reports only the
caches that changed since the last poll (an unchanged one would report the same blocks
in the same order: the policy's view would not move).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sage.benchmark.serving.prefixes import BLOCK_TOKENS

KV_BYTES_PER_TOKEN = 23_040  # SmolLM2-135M: 30 layers x 2 (K, V) x 3 KV heads x 64 x f16
DEFAULT_CACHE_TOKENS = 11_000  # SmolLM2's KV is ~23 KB a token: the engine's 256 MB
REPORT_INTERVAL_S = 1.0  # the control plane polls engines' caches once a second


class SimPrefixCache:
    __slots__ = ("capacity", "held", "hashes", "used", "on_change", "on_refresh", "changed")

    def __init__(self, capacity_tokens: int = DEFAULT_CACHE_TOKENS) -> None:
        self.capacity = capacity_tokens
        self.held: OrderedDict[int, int] = OrderedDict()  # prefix id -> tokens, LRU first
        self.hashes: dict[int, tuple[int, ...]] = {}  # prefix id -> its stored prompt's blocks
        self.used = 0
        self.on_change: Callable[[], None] | None = None  # told of every change (reports)
        self.on_refresh: Callable[[], None] | None = None  # and of a hit's LRU refresh
        # prefix ids inserted or dropped since a reporter last looked (when one asks)
        self.changed: dict[int, None] | None = None

    def lookup(self, prefix_id: int, prefix_tokens: int) -> int:
        """Tokens of this prefix held here (refreshing it), 0 on a miss."""
        held = self.held.get(prefix_id)
        if held is None:
            return 0
        self.held.move_to_end(prefix_id)
        if self.on_refresh is not None:
            self.on_refresh()  # the LRU order is part of what the engine reports
        return min(held, prefix_tokens)

    def insert(self, prefix_id: int, tokens: int, hashes: tuple[int, ...] = ()) -> None:
        """Hold ``tokens`` of this prefix (a completed request's prompt and answer);
        ``hashes``: that prompt's blocks, what a report lists (the longest prompt's; of
        equal ones the newest, as the engine keeps the newest sibling)."""
        if tokens > self.capacity:
            return
        changed = self.changed
        if changed is not None:
            changed[prefix_id] = None
        old = self.held.pop(prefix_id, 0)
        self.used -= old
        self.held[prefix_id] = max(old, tokens)
        self.used += self.held[prefix_id]
        if hashes and len(hashes) >= len(self.hashes.get(prefix_id, ())):
            self.hashes[prefix_id] = hashes
        while self.used > self.capacity:
            dropped_id, dropped = self.held.popitem(last=False)
            self.used -= dropped
            self.hashes.pop(dropped_id, None)
            if changed is not None:
                changed[dropped_id] = None
        if self.on_change is not None:
            self.on_change()

    def report(self) -> list[int]:
        """The block hashes of every held prefix, least recently used first (what an
        engine's ``GET /v1/cache`` lists)."""
        out: list[int] = []
        for prefix_id in self.held:
            out.extend(self.blocks_of(prefix_id))
        return out

    def blocks_of(self, prefix_id: int) -> Sequence[int]:
        """The block hashes a report lists for a held prefix."""
        blocks = self.hashes.get(prefix_id)
        if blocks is None:  # inserted without its prompt's blocks: one per 64 tokens
            base = prefix_id << 16
            return range(base, base + self.held[prefix_id] // BLOCK_TOKENS)
        return blocks


class CacheReports:
    """Hands the engines' cache contents to a precise policy once per ``interval_s``.

    ``caches`` maps engine id to its cache; the first poll reports every engine (as the
    live poller's first round does), later ones only those whose cache changed. A hit
    that only refreshes an entry's LRU place counts as a change only when a report can
    exceed the policy's ``max_blocks`` (below that the order of the policy's index
    decides nothing: it is only read when the index overflows).
    """

    def __init__(
        self, policy: Any, caches: Iterable[tuple[str, SimPrefixCache]],
        interval_s: float = REPORT_INTERVAL_S,
    ) -> None:  # fmt: skip
        self.policy = policy  # anything with observe(engine_id, hashes)
        self.interval_s = interval_s
        self.caches = dict(caches)
        self.dirty: dict[str, SimPrefixCache] = dict(self.caches)
        self.polls = 0
        self.reports = 0
        # per engine, for a policy taking deltas: each held prefix's blocks as last
        # reported, and their union (distinct prefixes never share a block: each chain
        # starts with its own prefix id's block)
        self._listed: dict[str, dict[int, Sequence[int]]] = {e: {} for e in self.caches}
        self._held: dict[str, set[int]] = {e: set() for e in self.caches}
        limit = getattr(policy, "max_blocks", 0)
        deltas = hasattr(policy, "observe_delta")
        for engine_id, cache in self.caches.items():
            cache.on_change = self._marker(engine_id, cache)
            if deltas:  # what changed, so a report looks at those prefixes only
                cache.changed = dict.fromkeys(cache.held)
            if cache.capacity > limit:  # a message's blocks never outnumber its tokens
                cache.on_refresh = cache.on_change

    def _marker(self, engine_id: str, cache: SimPrefixCache) -> Callable[[], None]:
        dirty = self.dirty

        def changed() -> None:
            dirty[engine_id] = cache

        return changed

    def poll(self) -> None:
        """One round of reports (engine order as registered, like the live poller's)."""
        self.polls += 1
        if not self.dirty:
            return
        order = [e for e in self.caches if e in self.dirty]
        delta = getattr(self.policy, "observe_delta", None)
        for engine_id in order:
            cache = self.caches[engine_id]
            if delta is None:
                self.policy.observe(engine_id, cache.report())
            else:  # the same blocks indexed, as the change since the last report
                added, dropped = self._changes(engine_id, cache)
                delta(engine_id, added, dropped, self._held[engine_id], cache.report)
        self.reports += len(order)
        self.dirty.clear()

    def _changes(self, engine_id: str, cache: SimPrefixCache) -> tuple[set[int], set[int]]:
        """The blocks ``cache`` lists now and did not at its last report, and vice versa:
        only the prefixes inserted or dropped since can differ (``cache.changed``)."""
        listed, held = self._listed[engine_id], self._held[engine_id]
        added: set[int] = set()
        dropped: set[int] = set()
        changed, stored = cache.changed, cache.held
        assert changed is not None
        for prefix_id in changed:
            old = listed.get(prefix_id)
            if prefix_id not in stored:
                if old is not None:
                    dropped.update(listed.pop(prefix_id))
                continue
            blocks = listed[prefix_id] = cache.blocks_of(prefix_id)
            if old is blocks or old == blocks:
                continue
            if old is None:
                added.update(blocks)
            elif len(blocks) >= len(old) and blocks[: len(old)] == old:
                added.update(blocks[len(old) :])  # a longer prompt of the same chain
            else:
                old_set, new_set = set(old), set(blocks)
                added |= new_set - old_set
                dropped |= old_set - new_set
        changed.clear()
        held |= added
        held -= dropped
        return added, dropped
