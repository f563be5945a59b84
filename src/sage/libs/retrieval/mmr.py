"""Maximal marginal relevance (Carbonell & Goldstein 1998): relevant *and* diverse.

Near-duplicate chunks (overlapping windows, repeated boilerplate) waste a small
model's context; MMR trades a little relevance for coverage.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sage.common.errors import ConfigError


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise cosine similarity of the rows of ``a`` and ``b`` (zero rows -> 0)."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float32))
    b = np.atleast_2d(np.asarray(b, dtype=np.float32))
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    a = np.divide(a, na, out=np.zeros_like(a), where=na > 0)
    b = np.divide(b, nb, out=np.zeros_like(b), where=nb > 0)
    return a @ b.T


def mmr(query: Sequence[float] | np.ndarray, candidates: Sequence[Sequence[float]] | np.ndarray,
        k: int, lambda_: float = 0.7) -> list[int]:
    """Indices of ``k`` candidates chosen greedily by
    ``lambda * sim(q, d) - (1 - lambda) * max_{s in selected} sim(d, s)``.

    ``lambda_=1`` is plain relevance order; ``0`` is pure diversity.
    """
    if not 0.0 <= lambda_ <= 1.0:
        raise ConfigError("lambda_ must be in [0, 1]")
    cand = np.asarray(candidates, dtype=np.float32)
    if cand.size == 0 or k <= 0:
        return []
    relevance = cosine_matrix(np.asarray(query, dtype=np.float32), cand)[0]
    pairwise = cosine_matrix(cand, cand)
    selected: list[int] = []
    remaining = list(range(len(cand)))
    while remaining and len(selected) < k:
        if selected:
            redundancy = pairwise[np.ix_(remaining, selected)].max(axis=1)
        else:
            redundancy = np.zeros(len(remaining), dtype=np.float32)
        scores = lambda_ * relevance[remaining] - (1 - lambda_) * redundancy
        best = remaining[int(np.argmax(scores))]
        selected.append(best)
        remaining.remove(best)
    return selected
