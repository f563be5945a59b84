"""Combine rankings from several retrievers (e.g. BM25 + dense) into one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60,
                           weights: Sequence[float] | None = None) -> list[tuple[str, float]]:
    """RRF (Cormack et al. 2009): ``score(d) = sum_i w_i / (k + rank_i(d))``, ranks from 1.

    Needs only ranks, so retrievers with incomparable scores fuse without tuning.
    Ties keep first-seen order.
    """
    if weights is not None and len(weights) != len(rankings):
        raise ValueError("one weight per ranking")
    fused: dict[str, float] = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else float(weights[i])
        for rank, doc in enumerate(ranking, 1):
            fused[doc] = fused.get(doc, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def _minmax(scores: Mapping[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    lo, hi = min(scores.values()), max(scores.values())
    if hi == lo:
        return {d: 1.0 for d in scores}
    return {d: (s - lo) / (hi - lo) for d, s in scores.items()}


def weighted_fusion(results: Sequence[Mapping[str, float]],
                    weights: Sequence[float] | None = None,
                    normalize: bool = True) -> list[tuple[str, float]]:
    """Weighted sum of (min-max normalised) scores; a document missing from a result
    list contributes 0 there."""
    if weights is None:
        weights = [1.0 / len(results)] * len(results) if results else []
    if len(weights) != len(results):
        raise ValueError("one weight per result list")
    fused: dict[str, float] = {}
    for w, scores in zip(weights, results, strict=True):
        norm = _minmax(scores) if normalize else dict(scores)
        for doc, s in norm.items():
            fused[doc] = fused.get(doc, 0.0) + float(w) * s
    return sorted(fused.items(), key=lambda kv: -kv[1])
