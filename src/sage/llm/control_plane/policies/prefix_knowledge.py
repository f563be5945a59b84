"""What ``prefix_aware`` believes each engine holds, and how it learns it.

Per engine a :class:`~sage.llm.control_plane.policies.prefix_index.BlockIndex`, fed by
the policy's own routing (approximate mode: every prompt it sends, corrected by what the
replies say was cached) or by the engines' reports (precise mode: :meth:`observe`, or
:meth:`observe_delta` from a reporter that knows what changed), plus the engine each
prefix was last sent to (its *home*). Placement (:mod:`.prefix_aware`) only reads it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Container, Iterable

from sage.llm.control_plane.policies.prefix_index import BlockIndex, Sent
from sage.llm.control_plane.types import Request

UNREPORTED = 32  # precise mode: prompts per engine indexed before its report shows them
EXPECTED = 4096  # approximate mode: dispatched requests whose replies may teach an index


def _drop_reported(sent: OrderedDict[tuple[int, ...], None], blocks: Container[int]) -> None:
    """Forget the unreported prompts a report now shows (their last block is in it): the
    engine has stored them."""
    for prompt in [p for p in sent if p[-1] in blocks]:
        del sent[prompt]


class PrefixKnowledge:
    """Mixin of :class:`~sage.llm.control_plane.policies.prefix_aware.PrefixAwarePolicy`:
    the per-engine indexes and what feeds them."""

    source: str
    max_blocks: int
    _layout: object

    def _init_knowledge(self) -> None:
        self.index: dict[str, BlockIndex] = {}
        self.expected_hits = 0  # prompt blocks placed where they were expected cached
        self.expected_blocks = 0
        # precise mode: prompts sent to an engine that its reports do not show yet
        self._unreported: dict[str, OrderedDict[tuple[int, ...], None]] = {}
        # approximate mode: request id -> (its engine's index, what that index expected)
        self._sent: dict[str, tuple[BlockIndex, Sent]] = {}
        # first block -> engine last sent to; each index counts the prefixes it is home to
        self._home: OrderedDict[int, str] = OrderedDict()
        # What a held request's kept decision depends on (see PrefixHolds._still_held):
        # _added (first block -> adds) and _epoch (any other change of an index, the pool
        # layout or its profiles).
        self._added: dict[int, int] = {}
        self._epoch = 0
        # first block -> the pool positions whose index holds it (placement's memo), until
        # a block of it is added or dropped anywhere, or the layout changes
        self._holders: dict[int, list[int]] = {}
        # precise mode, cache reports applied as deltas (observe_delta): per engine the
        # last report's block set, and the blocks indexed since that it may not list
        self._reported: dict[str, set[int]] = {}
        self._extra: dict[str, set[int]] = {}

    def _index_of(self, engine_id: str) -> BlockIndex:
        index = self.index.get(engine_id)
        if index is None:
            index = self.index[engine_id] = BlockIndex(self.max_blocks)
            self._layout = None
        return index

    def observe(self, engine_id: str, hashes: Iterable[int]) -> None:
        """What ``engine_id`` reports it holds now (precise mode; replaces the guess).

        An engine stores a prompt only once it has answered it, so the prompts sent to it
        since (up to ``UNREPORTED``, newest kept) stay indexed until a report shows them:
        without them, the requests of a new prefix that arrive while its first one is
        still prefilling would each go to a different engine and prefill it cold."""
        index = self._index_of(engine_id)
        if index.firsts is not None:
            self._layout = None  # its first blocks are unknown from now on (see BlockIndex)
        index.replace(hashes)
        self._epoch += 1
        self._reported.pop(engine_id, None)
        sent = self._unreported.get(engine_id)
        if sent:
            _drop_reported(sent, index.blocks)
            for prompt in sent:
                index.add(prompt)
        self._holders.clear()

    def observe_delta(
        self, engine_id: str, added: Iterable[int], dropped: Iterable[int], held: set[int],
        report: Callable[[], list[int]],
    ) -> None:  # fmt: skip
        """:meth:`observe` of ``report()`` for a reporter that knows what changed since its
        last report (the simulator, ~1 report per request): ``held`` is its own live set
        of the engine's blocks after the change, ``added``/``dropped`` the change. The same
        blocks are indexed afterwards; ages, touch count and LRU order of the kept blocks
        stay as they were, which decides nothing here: ages count only once replies taught a reach
        (approximate mode), the order only once an index is full (then: :meth:`observe`)."""
        index = self.index.get(engine_id)
        extra = self._extra.get(engine_id)
        if (
            index is None or extra is None or self._reported.get(engine_id) is not held
            or index.reach is not None or len(held) + len(extra) + len(index.blocks) >= index.limit
        ):  # fmt: skip
            self.observe(engine_id, report())
            self._reported[engine_id] = held
            self._extra[engine_id] = set().union(*self._unreported.get(engine_id, ()))
            return
        sent = self._unreported.get(engine_id)
        keep: set[int] = set()
        if sent:
            _drop_reported(sent, held)
            for prompt in sent:
                keep.update(prompt)
        gone = extra - held
        gone.update(dropped)
        gone -= keep
        if gone or added:
            if index.firsts is not None:
                self._layout = None  # its first blocks are unknown from now on
            index.apply(added, gone)
            self._epoch += 1
            holders = self._holders
            if holders:
                for block in [*(holders.keys() & added), *(holders.keys() & gone)]:
                    holders.pop(block, None)
        # The unreported prompts' blocks were kept: unlike observe, no need to add them
        # again (that would only refresh their ages and LRU places).
        self._extra[engine_id] = keep

    def forget(self, engine_id: str) -> None:
        """The engine is gone: its cache with it."""
        self.index.pop(engine_id, None)
        self._unreported.pop(engine_id, None)
        self._reported.pop(engine_id, None)
        self._extra.pop(engine_id, None)
        for first in [k for k, v in self._home.items() if v == engine_id]:
            del self._home[first]  # if it comes back, it comes back home to none
        self._layout = None
        self._epoch += 1
        self._holders.clear()

    def _leave_home(self, engine_id: str) -> None:
        """A prefix's home is no longer ``engine_id`` (it moved, or fell out of ``_home``)."""
        left = self.index.get(engine_id)
        if left is not None:  # else forgotten: its count went with it
            left.homes -= 1

    def _note_sent(self, request: Request, engine_id: str) -> None:
        """``request`` (with prefix hashes) went to ``engine_id``: index it there."""
        index = self._index_of(engine_id)
        hashes = request.prefix_hashes
        match = index.match(hashes)
        home = self._home
        before = home.get(hashes[0])
        if before != engine_id:  # the prefix moves here (placement's tie-break counts)
            index.homes += 1
            if before is not None:
                self._leave_home(before)
        home[hashes[0]] = engine_id
        home.move_to_end(hashes[0])
        if len(home) > self.max_blocks:
            self._leave_home(home.popitem(last=False)[1])
        self.expected_hits += match
        self.expected_blocks += len(hashes)
        if self.source == "approximate":  # what its reply says will teach the index
            self._sent[request.id] = (index, index.sent(hashes, match))
            if len(self._sent) > EXPECTED:  # replies that never came: forget them
                lost, sent = self._sent.pop(next(iter(self._sent)))
                lost.answered(sent, None)
        index.add(hashes)  # precise: until a report shows it
        holders = self._holders
        if holders:  # who holds a block changes only where it was new (the leading
            # ``match`` were there); a first-blocks dict may gain hashes[0] either way
            fresh = hashes[match:] if index.firsts is None else hashes
            if not holders.keys().isdisjoint(fresh):
                for block in fresh:
                    holders.pop(block, None)
        added = self._added
        if len(added) >= self.max_blocks:  # bounded: forgetting the counts (epoch moved)
            added.clear()  # only makes held requests be scored again
            self._epoch += 1
        added[hashes[0]] = added.get(hashes[0], 0) + 1  # who holds it, how much
        if len(index.blocks) >= index.limit:
            self._epoch += 1  # blocks may have been evicted
            holders.clear()
        if self.source == "precise":
            extra = self._extra.get(engine_id)
            if extra is not None:
                extra.update(hashes)
            sent = self._unreported.setdefault(engine_id, OrderedDict())
            sent[request.prefix_hashes] = None
            sent.move_to_end(request.prefix_hashes)
            while len(sent) > UNREPORTED:
                sent.popitem(last=False)

    def on_complete(self, request: Request, engine_id: str, now: float, ok: bool) -> None:
        """Approximate mode: the reply's cached tokens teach the engine's index its reach."""
        entry = self._sent.pop(request.id, None)
        if entry is None:
            return
        index, sent = entry
        usage = request.reply_cache if ok else None
        index.answered(sent, usage[0] / usage[1] * len(request.prefix_hashes) if usage else None)
