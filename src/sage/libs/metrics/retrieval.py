"""Ranking quality against gold relevant ids (documents, tools, ...)."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def hit_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 when any relevant id is among the first ``k`` retrieved (top-k accuracy)."""
    return 1.0 if set(retrieved[:k]) & set(relevant) else 0.0


def recall_at_k(retrieved: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the relevant ids found in the first ``k`` retrieved (duplicates count once)."""
    if not relevant:
        return 0.0
    found = set(retrieved[:k]) & set(relevant)
    return len(found) / len(set(relevant))


def mrr(retrieved: Sequence[str], relevant: Collection[str]) -> float:
    """Reciprocal rank of the first relevant id (0 when none is retrieved); the mean
    over queries is the MRR."""
    rel = set(relevant)
    for rank, doc in enumerate(retrieved, 1):
        if doc in rel:
            return 1.0 / rank
    return 0.0
