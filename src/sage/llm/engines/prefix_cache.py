"""Several prefix KV states per llama engine, not only the one its context holds.

llama.cpp's ``Llama.generate`` already skips the prefix a context shares with what it
evaluated last; this cache keeps the KV of earlier prompts too (within a memory budget,
least recently used out first), and before a request loads the state that shares the
longest prefix with its prompt tokens, so only the rest is evaluated.

States are one sequence's KV cells (``llama_state_seq_get_data``): no logits, which
``Llama.save_state`` copies (``n_batch x n_vocab`` floats, ~100 MB for SmolLM2). After a
restore llama.cpp re-evaluates one token to refresh the logits.

Each state also keeps the chat prompt's block hashes (:mod:`sage.llm.prefix_hash`), so
``GET /v1/cache`` tells a router which prompt prefixes this engine holds.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_BUDGET_MB = 256
MIN_TOKENS = 32  # a shorter prefix is cheaper to evaluate than to copy around
HEAD_TOKENS = 64  # prompts are grouped by their first tokens to tell reuse from one-offs
MAX_HEADS = 4096
SIBLING_RATIO = 4  # a state sharing 4x more than its own tail gives way to a newer one


@dataclass
class CachedPrefix:
    tokens: np.ndarray  # int32 token ids the state covers
    data: bytes  # llama_state_seq_get_data of sequence 0
    block_hashes: tuple[int, ...] = ()
    hits: int = 0

    @property
    def nbytes(self) -> int:
        return len(self.data) + self.tokens.nbytes


@dataclass
class CacheStats:
    lookups: int = 0
    hits: int = 0  # a stored state was loaded
    cached_tokens: int = 0  # prompt tokens not evaluated (context or stored state)
    prompt_tokens: int = 0
    saved: int = 0
    evicted: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    """Length of the common prefix of two token arrays (vectorized)."""
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


class PrefixCache:
    """LRU prefix states within ``budget_mb``; shared by every slot of one engine (the
    slots are contexts of the same model, so a state saved by one loads in another).

    ``min_uses``: keep a state only once its prompt's first ``HEAD_TOKENS`` tokens came
    that many times. The default (1) keeps every served prompt: waiting for a second sight
    costs each tenant one more cold prefill per engine, which measured worse (hit rate
    0.17-0.25 against 0.54-0.84 on a short run) than the copy one-off prompts cost
    (~0.2 s for 1.5k tokens, after the reply)."""

    def __init__(
        self, budget_mb: float = DEFAULT_BUDGET_MB, min_tokens: int = MIN_TOKENS, min_uses: int = 1
    ) -> None:
        self.budget = int(budget_mb * 1024 * 1024)
        self.min_tokens = min_tokens
        self.min_uses = min_uses
        self.heads: OrderedDict[int, int] = OrderedDict()  # prompt head -> requests seen
        self.entries: OrderedDict[int, CachedPrefix] = OrderedDict()  # oldest first
        self.used = 0
        self.stats = CacheStats()
        self._ids = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.budget > 0

    # -- per request, in the slot's thread ---------------------------------------------
    def restore(self, llm: Any, prompt: list[int]) -> int:
        """Load into ``llm`` the state sharing the longest prefix with ``prompt`` when it
        beats what the context holds; returns the prompt tokens that need no evaluation."""
        tokens = np.asarray(prompt, dtype=np.intc)
        self._seen(tokens)
        live = common_prefix(np.asarray(llm.input_ids[: llm.n_tokens]), tokens)
        best: CachedPrefix | None = None
        best_len = live
        with self._lock:
            self.stats.lookups += 1
            for key, entry in reversed(self.entries.items()):  # newest first: ties go to it
                shared = common_prefix(entry.tokens, tokens)
                if shared > best_len:
                    best, best_len, best_key = entry, shared, key
            if best is not None and best_len - live >= self.min_tokens:
                self.entries.move_to_end(best_key)
                best.hits += 1
                self.stats.hits += 1
            else:
                best, best_len = None, live
        if best is not None and not _load(llm, best):
            best_len = 0  # a state that would not load: a miss, evaluated from scratch
        cached = min(best_len, max(0, len(tokens) - 1))  # llama.cpp re-evaluates the last
        self.stats.cached_tokens += cached
        self.stats.prompt_tokens += len(tokens)
        return cached

    def save(self, llm: Any, block_hashes: tuple[int, ...] = ()) -> None:
        """Keep the KV ``llm`` holds now (prompt and answer), unless it is short, already
        stored, or alone larger than the budget; older states it supersedes are dropped."""
        n = int(llm.n_tokens)
        if not self.enabled or n < self.min_tokens:
            return
        tokens = np.array(llm.input_ids[:n], dtype=np.intc)
        if self.heads.get(_head(tokens), 0) < self.min_uses:
            return  # a one-off prompt so far
        with self._lock:
            for entry in self.entries.values():
                if len(entry.tokens) >= n and common_prefix(entry.tokens, tokens) == n:
                    return  # this prefix is held already (the restored state, say)
        data = _dump(llm)
        entry = CachedPrefix(tokens, data, block_hashes)
        if entry.nbytes > self.budget:
            return
        with self._lock:
            for key in [k for k, e in self.entries.items() if self._superseded(e, tokens)]:
                self._drop(key)
            self._ids += 1
            self.entries[self._ids] = entry
            self.used += entry.nbytes
            self.stats.saved += 1
            while self.used > self.budget:
                self._drop(next(iter(self.entries)))
                self.stats.evicted += 1

    def _superseded(self, entry: CachedPrefix, tokens: np.ndarray) -> bool:
        """Whether the new state ``tokens`` makes ``entry`` (nearly) redundant: it extends
        it (a session's next turn), or both share a long prefix and ``entry`` only adds a
        short tail (the same system prompt with another question): keeping one copy per
        shared prefix, the newest, leaves room for other tenants' prefixes."""
        shared = common_prefix(entry.tokens, tokens)
        tail = len(entry.tokens) - shared
        return tail == 0 or (shared >= self.min_tokens and tail * SIBLING_RATIO <= shared)

    def _seen(self, tokens: np.ndarray) -> None:
        head = _head(tokens)
        with self._lock:
            self.heads[head] = self.heads.pop(head, 0) + 1
            if len(self.heads) > MAX_HEADS:
                self.heads.popitem(last=False)

    def _drop(self, key: int) -> None:
        self.used -= self.entries.pop(key).nbytes

    def clear(self) -> None:
        """Drop every stored state and the counters (a benchmark run starts cold)."""
        with self._lock:
            self.entries.clear()
            self.heads.clear()
            self.used = 0
            self.stats = CacheStats()

    # -- what the control plane may ask ---------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """``GET /v1/cache``: budget, use, counters and each state's prompt block hashes
        (hex, chained: see :mod:`sage.llm.prefix_hash`), most recently used last."""
        with self._lock:
            entries = [
                {"tokens": len(e.tokens), "bytes": e.nbytes, "hits": e.hits,
                 "block_hashes": [f"{h:016x}" for h in e.block_hashes]}
                for e in self.entries.values()
            ]  # fmt: skip
        s = self.stats
        return {
            "object": "prefix_cache",
            "budget_bytes": self.budget,
            "used_bytes": self.used,
            "lookups": s.lookups,
            "hits": s.hits,
            "saved": s.saved,
            "evicted": s.evicted,
            "cached_tokens": s.cached_tokens,
            "prompt_tokens": s.prompt_tokens,
            "entries": entries,
        }


def _head(tokens: np.ndarray) -> int:
    return hash(tokens[:HEAD_TOKENS].tobytes())


def _dump(llm: Any) -> bytes:
    import llama_cpp

    ctx = llm._ctx.ctx
    size = llama_cpp.llama_state_seq_get_size(ctx, 0)
    buf = (ctypes.c_uint8 * size)()
    n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
    return ctypes.string_at(buf, n)


def _load(llm: Any, entry: CachedPrefix) -> bool:
    """Put ``entry`` into ``llm``'s context; ``False`` (context emptied) when it failed."""
    import llama_cpp

    ctx = llm._ctx.ctx
    llm._ctx.kv_cache_seq_rm(-1, 0, -1)  # the sequence is replaced whole
    size = len(entry.data)
    buf = (ctypes.c_uint8 * size).from_buffer_copy(entry.data)
    if llama_cpp.llama_state_seq_set_data(ctx, buf, size, 0) != size:
        llm.n_tokens = 0  # a failed load is a miss: evaluate from scratch
        return False
    n = len(entry.tokens)
    llm.input_ids[:n] = entry.tokens
    llm.n_tokens = n
    llm._requires_eval = True
    return True
