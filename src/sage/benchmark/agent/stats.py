"""Uncertainty and class-balance-aware figures: 95% bootstrap intervals over items,
balanced accuracy and AUROC (rank-based, ties count half)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

RESAMPLES = 1000
SMALL_N = 100  # rows with fewer items are flagged: read their interval, not the point


def _draws(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(RESAMPLES, n))


def mean_ci(values: Sequence[float], seed: int = 0) -> tuple[float, float]:
    """Percentile 95% interval of the mean over items."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return (float("nan"), float("nan"))
    means = v[_draws(len(v), seed)].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def stat_ci(
    fn: Callable[[np.ndarray], float], n: int, seed: int = 0
) -> tuple[float, float]:
    """Percentile 95% interval of ``fn(indices)`` over item resamples."""
    if n == 0:
        return (float("nan"), float("nan"))
    vals = np.array([fn(idx) for idx in _draws(n, seed)], dtype=float)
    vals = vals[~np.isnan(vals)]
    if len(vals) == 0:
        return (float("nan"), float("nan"))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def binary_rates(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """Accuracy, balanced accuracy, precision, recall and F1 of boolean arrays."""
    tp = float(np.sum(pred & gold))
    fp = float(np.sum(pred & ~gold))
    fn = float(np.sum(~pred & gold))
    tn = float(np.sum(~pred & ~gold))
    pos, neg = tp + fn, tn + fp
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / pos if pos else 0.0
    tnr = tn / neg if neg else 0.0
    balanced = (recall + tnr) / 2 if pos and neg else (recall if pos else tnr)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = tp + fp + fn + tn
    return {
        "accuracy": (tp + tn) / total if total else 0.0,
        "balanced_accuracy": balanced,
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def auroc(scores: np.ndarray, gold: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (NaN if one class)."""
    if gold.all() or not gold.any():
        return float("nan")
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(gold, scores))
