"""Shared prompt prefixes in a workload: tenants' own system prompts and the growing
histories of multi-turn sessions, so prefix-cache-aware routing has something to win.

Each chat row may carry a prefix id and length: the text sent before its question (a
tenant's system prompt / tool catalog, or a session's earlier turns). The text of a prefix
is :func:`prefix_text` of its id, and a longer prefix of the same id extends a shorter one
word for word, so a session's next turn starts with exactly its previous prompt.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sage.benchmark.serving.prompts import synthetic_text

NO_PREFIX = -1
TENANT_STRIDE = 1 << 20  # prefix ids of tenant k: k * TENANT_STRIDE + n
BLOCK_TOKENS = 64  # the simulator's cache blocks (~ sage.llm.prefix_hash.BLOCK_CHARS)


def prefix_columns(
    tenant_index: int,
    prefix_tokens: int,
    sessions: int,
    max_history_tokens: int,
    is_llm: np.ndarray,
    prompt: np.ndarray,
    output: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(prefix id, prefix tokens) per row of one tenant, rows in arrival order.

    Without sessions every chat row shares the tenant's prefix. With ``sessions``, chat
    rows take turns over the sessions; a turn's prefix is the tenant prefix plus every
    earlier turn of its session (question and answer); a history that would pass
    ``max_history_tokens`` starts a new session (a new id) in its place.
    """
    n = len(is_llm)
    ids = np.full(n, NO_PREFIX, dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int32)
    base = tenant_index * TENANT_STRIDE
    if not sessions:
        if prefix_tokens:
            ids[is_llm] = base
            lengths[is_llm] = prefix_tokens
        return ids, lengths
    history = [prefix_tokens] * sessions
    generation = [0] * sessions
    for turn, row in enumerate(np.flatnonzero(is_llm)):
        s = turn % sessions
        if history[s] + prompt[row] + output[row] > max_history_tokens:
            history[s], generation[s] = prefix_tokens, generation[s] + 1
        ids[row] = base + 1 + s + sessions * generation[s]
        lengths[row] = history[s]
        history[s] += int(prompt[row] + output[row])
    return ids, lengths


def prefix_text(prefix_id: int, tokens: int) -> str:
    """About ``tokens`` tokens of text, the same words for one id (longer: extended)."""
    return synthetic_text(tokens, 7919 * prefix_id + 1) if tokens > 0 else ""


def oracle_hit_rate(
    prefix: np.ndarray,
    prefix_tokens: np.ndarray,
    prompt: np.ndarray,
    output: np.ndarray,
    counted: np.ndarray | None = None,
) -> float:
    """Share of prompt tokens an infinite cache with perfect routing would not prefill:
    a prefix is cached after the first request that sent it (with its question and answer:
    what the next turn of a session reuses). ``counted``: the rows measured (the others
    only warm the cache up)."""
    held: dict[int, int] = {}
    cached = total = 0
    measured = [True] * len(prefix) if counted is None else counted.tolist()
    for pid, plen, p, o, m in zip(prefix.tolist(), prefix_tokens.tolist(), prompt.tolist(),
                                  output.tolist(), measured, strict=True):  # fmt: skip
        hit = 0 if pid == NO_PREFIX else min(plen, held.get(pid, 0))
        if m:
            total += plen + p
            cached += hit
        if pid != NO_PREFIX:
            held[pid] = max(held.get(pid, 0), plen + p + o)
    return cached / total if total else 0.0


def with_prefix(workload: Any, row: int, question: str) -> str | list[dict[str, str]]:
    """Row ``row``'s chat as sent: its prefix as the system message, then the question."""
    if workload.prefix is None or int(workload.prefix[row]) == NO_PREFIX:
        return question
    text = prefix_text(int(workload.prefix[row]), int(workload.prefix_tokens[row]))
    return [{"role": "system", "content": text}, {"role": "user", "content": question}]


def oracle_of(workload: Any, since: float = 0.0) -> float | None:
    """:func:`oracle_hit_rate` of a workload's chats scheduled from ``since`` on (earlier
    ones warm the cache up); ``None``: it shares no prefixes."""
    if workload.prefix is None or workload.prefix_tokens is None:
        return None
    chats = workload.kind == 0
    return oracle_hit_rate(workload.prefix[chats], workload.prefix_tokens[chats],
                           workload.prompt_tokens[chats], workload.output_tokens[chats],
                           workload.t[chats] >= since)  # fmt: skip
