"""What one engine is believed to hold: an LRU set of prompt block hashes.

``prefix_aware`` keeps one :class:`BlockIndex` per engine. In its approximate mode the
index is only a guess (what the policy routed there), kept far longer than the engine
keeps the states: that is what makes a prefix *stick* to its engine (a session whose
history was evicted is still sent back home, so each engine keeps serving the same share
of prefixes, as consistent hashing would). But waiting for a busy engine is worth it only
if it still holds the prefix, so each index learns how far back its engine really
remembers, its *reach* (:meth:`BlockIndex.learn`), from the replies the control plane
relays: OpenAI's ``usage.prompt_tokens_details.cached_tokens`` says how much the engine
reused, and a miss on blocks last touched ``age`` blocks ago means it remembers less far
back than that. Any engine that reports the standard field teaches it (vLLM, SGLang,
SAGE's own); for one that does not, every indexed block counts as held.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from itertools import repeat, takewhile
from typing import NamedTuple

MIN_REACH = 16  # the shortest reach a few misses may teach, in blocks touched


class Sent(NamedTuple):
    """What an index expected of a request it sent (see :meth:`BlockIndex.sent`)."""

    expected: int  # leading blocks believed cached
    age: int  # blocks touched since the deepest of them was
    tick: int  # the index's touch count when the request was sent
    confirmed: bool  # those blocks came from requests already answered (so stored)


def leading(blocks: dict[int, int], hashes: Sequence[int]) -> int:
    """How many leading ``hashes`` are in ``blocks`` (C-speed: no Python loop)."""
    return len(list(takewhile(blocks.__contains__, hashes)))


class BlockIndex:
    """One engine's cached prompt blocks (chained hashes), LRU-bounded by ``limit``.

    Each block maps to the touch count when it was last touched, so its *age* (blocks
    touched since: at least the distinct ones, which decide an LRU eviction) is one
    subtraction; a shorter prefix is touched whenever a longer one is, so ages only grow
    along a chain. ``match`` remembers its last answer for the very same hash tuple until
    the set of blocks changes (a refresh of the LRU order changes no match)."""

    __slots__ = ("blocks", "firsts", "homes", "limit", "reach", "touched",
                 "_sending", "_seen", "_matched")  # fmt: skip

    def __init__(self, limit: int) -> None:
        self.blocks: OrderedDict[int, int] = OrderedDict()
        # The indexed first blocks, while only :meth:`add` changed the set (then a first
        # block, chained, is only ever a prompt's first): a small dict for the policy's
        # "who holds it" test over every engine, instead of the large block dicts.
        self.firsts: dict[int, None] | None = {}
        self.limit = limit
        # Prefixes whose latest request the policy sent here (of the last ``max_blocks``):
        # how many it serves, whatever its cache holds now. Placement's tie-break: a new
        # prefix goes to the free engine home to the fewest, so sessions spread out.
        self.homes = 0
        self.reach: int | None = None  # learned: how old a block the engine still holds
        self.touched = 0  # blocks added so far, again or not
        self._sending: dict[int, int] = {}  # touch count at a send -> unanswered sends
        self._seen: Sequence[int] | None = None
        self._matched = 0

    def match(self, hashes: Sequence[int]) -> int:
        """Leading blocks of ``hashes`` indexed here (chained: the first absent one ends it)."""
        if hashes is not self._seen:
            self._matched = leading(self.blocks, hashes)
            self._seen = hashes
        return self._matched

    def held(self, hashes: Sequence[int], match: int) -> int:
        """Of the ``match`` leading blocks indexed, those the engine likely still holds:
        the ones within its reach (a binary search: ages grow along the chain)."""
        reach, blocks, touched = self.reach, self.blocks, self.touched
        if reach is None or not match or touched - blocks[hashes[match - 1]] <= reach:
            return match
        lo, hi = 0, match - 1  # the answer is in [lo, hi]: block hi is out of reach
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if touched - blocks[hashes[mid - 1]] <= reach:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def sent(self, hashes: Sequence[int], expected: int) -> Sent:
        """Note a request sent with ``hashes`` (call before :meth:`add`), until
        :meth:`answered`. An engine stores a prompt once it has answered it, so blocks
        last touched by a request still unanswered prove nothing when missing."""
        tick = self.touched
        age, confirmed = 0, False
        if expected:
            last = self.blocks[hashes[expected - 1]]
            age, confirmed = tick - last, last not in self._sending
        self._sending[tick] = self._sending.get(tick, 0) + 1
        return Sent(expected, age, tick, confirmed)

    def answered(self, sent: Sent, reused: float | None) -> None:
        """The reply to a request :meth:`sent`: the engine reused ``reused`` of its blocks
        (``None``: it did not say, or the request failed)."""
        left = self._sending.get(sent.tick, 0) - 1
        if left > 0:
            self._sending[sent.tick] = left
        else:
            self._sending.pop(sent.tick, None)
        if reused is not None and sent.expected and sent.confirmed:
            self.learn(sent.age, hit=reused >= 0.5 * sent.expected)

    def learn(self, age: int, hit: bool) -> None:
        """The engine held (``hit``) or had dropped blocks last touched ``age`` blocks
        before: its reach is at least, or less than, that. A miss at most halves the
        reach, so one odd reply (a state that failed to load) cannot undo many."""
        reach = self.reach
        if hit:
            if reach is not None and age > reach:
                self.reach = age
        elif reach is None or age < reach:
            self.reach = max(MIN_REACH, age, (reach or 0) // 2)

    def add(self, hashes: Iterable[int]) -> None:
        if not isinstance(hashes, (tuple, list)):
            hashes = list(hashes)  # walked twice
        blocks, firsts = self.blocks, self.firsts
        held = len(blocks)
        blocks.update(zip(hashes, repeat(self.touched)))  # new ones at the end
        deque(map(blocks.move_to_end, hashes), maxlen=0)  # to the end: the same order
        self.touched += len(hashes)
        if len(blocks) != held:
            self._seen = None
            if firsts is not None and hashes:
                firsts[hashes[0]] = None
            while len(blocks) > self.limit:
                gone = blocks.popitem(last=False)[0]
                if firsts is not None:
                    firsts.pop(gone, None)

    def apply(self, added: Iterable[int], dropped: Iterable[int]) -> None:
        """Change the block set by a delta (a report's changes): no eviction, and ages and
        LRU order of the blocks kept stay as they were (only :meth:`replace` resets them)."""
        blocks, self.firsts = self.blocks, None
        for block in dropped:
            blocks.pop(block, None)
        blocks.update(zip(added, repeat(self.touched)))
        self._seen = None

    def replace(self, hashes: Iterable[int]) -> None:
        blocks = self.blocks  # in place: the policy keeps this dict by engine position
        self.firsts = None
        blocks.clear()
        blocks.update(zip(hashes, repeat(self.touched)))
        self._seen = None
        while len(blocks) > self.limit:
            blocks.popitem(last=False)


NO_INDEX = BlockIndex(0)  # stands for an engine never indexed (never written)
