"""A modelled engine prefix cache: which prompt prefixes an engine holds, LRU in tokens.

Mirrors :mod:`sage.llm.engines.prefix_cache` at the level the simulator needs: a state is
stored when a request completes (its prompt and answer), a request reuses the part of its
prefix its engine holds, and only the rest is prefilled. One entry per prefix id (the
workload's tenant prompt or session history, :mod:`sage.benchmark.serving.prefixes`)
holding the longest length seen; capacity counts tokens of KV, like the real budget.
"""

from __future__ import annotations

from collections import OrderedDict

from sage.benchmark.serving.prefixes import BLOCK_TOKENS

DEFAULT_CACHE_TOKENS = 11_000  # SmolLM2's KV is ~23 KB a token: the engine's 256 MB


class SimPrefixCache:
    __slots__ = ("capacity", "held", "used")

    def __init__(self, capacity_tokens: int = DEFAULT_CACHE_TOKENS) -> None:
        self.capacity = capacity_tokens
        self.held: OrderedDict[int, int] = OrderedDict()  # prefix id -> tokens, LRU first
        self.used = 0

    def lookup(self, prefix_id: int, prefix_tokens: int) -> int:
        """Tokens of this prefix held here (refreshing it), 0 on a miss."""
        held = self.held.get(prefix_id)
        if held is None:
            return 0
        self.held.move_to_end(prefix_id)
        return min(held, prefix_tokens)

    def insert(self, prefix_id: int, tokens: int) -> None:
        """Hold ``tokens`` of this prefix (a completed request's prompt and answer)."""
        if tokens > self.capacity:
            return
        old = self.held.pop(prefix_id, 0)
        self.used -= old
        self.held[prefix_id] = max(old, tokens)
        self.used += self.held[prefix_id]
        while self.used > self.capacity:
            _, dropped = self.held.popitem(last=False)
            self.used -= dropped


def block_hashes(prefix_id: int, prefix_tokens: int) -> tuple[int, ...]:
    """Stand-ins for the gateway's chained block hashes of a prefix (one per full block)."""
    return tuple((prefix_id << 16) + b for b in range(prefix_tokens // BLOCK_TOKENS))
