"""The load figures ``prefix_aware`` scores every request of a pass against.

On an indexed pool of equal capacities an engine holding none of a request's prefix
scores ``0 - load``; which engines score best, whether the pool is out of balance and the
best such score depend only on which free-slot counts occur, so they are computed once
per distinct set of counts and re-read whenever a slot moves.
"""

from __future__ import annotations

from itertools import compress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sage.llm.control_plane.policies.prefix_index import BlockIndex

__all__ = ["SlotFigures"]


class SlotFigures:
    """An indexed pool's load figures that every request shares until a slot moves (equal
    capacities): they depend only on which free-slot counts occur, so are kept by those."""

    __slots__ = ("free", "most", "unbalanced", "top", "levels", "zero", "moves", "uniform",
                 "weight", "balance_abs", "balance_rel", "_figures")  # fmt: skip

    def __init__(self, weight: float, balance_abs: int, balance_rel: float) -> None:
        self.weight, self.balance_abs, self.balance_rel = weight, balance_abs, balance_rel
        self._figures: dict[tuple[int, frozenset[int]], tuple[int, bool, float, set[int]]] = {}
        self.moves = -1  # the pool's slot moves they were computed at
        self.free: list[int] = []
        self.uniform = False
        self.zero = -1

    def update(self, free: list[int], caps: list[int], moves: int) -> None:
        cap = caps[0]
        self.moves, self.free, self.zero = moves, free, -1
        self.uniform = caps.count(cap) == len(caps)
        key = (cap, frozenset(free))
        figures = self._figures.get(key)
        if figures is None:
            if len(self._figures) > 4096:
                self._figures.clear()
            figures = self._figures[key] = self._of(cap, key[1])
        self.most, self.unbalanced, self.top, self.levels = figures

    def _of(self, cap: int, counts: frozenset[int]) -> tuple[int, bool, float, set[int]]:
        most = max(counts)
        lo, hi = cap - most, cap - min(counts)
        unbalanced = hi - lo > self.balance_abs and hi > self.balance_rel * lo
        # The score of an engine holding none of a prefix: 0 / n - load (n >= 1).
        score = {f: 0.0 - self.weight * (cap - f) / max(1, cap) for f in counts if f > 0}
        top = max(score.values()) if score else 0.0
        return most, unbalanced, top, {f for f, value in score.items() if value == top}

    def best_empty(self, indexes: list[BlockIndex]) -> int:
        """The engine scoring ``top`` home to the fewest prefixes (then: with the fewest
        indexed blocks, then: the first)."""
        if self.zero < 0:
            sizes = [(index.homes, len(index.blocks)) for index in indexes]
            self.zero = min(compress(range(len(sizes)), map(self.levels.__contains__, self.free)),
                            key=sizes.__getitem__)  # fmt: skip
        return self.zero
