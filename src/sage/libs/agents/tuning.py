"""Fitting a decision threshold on held-out (dev) data, never on the evaluated items."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Tunable(Protocol):
    """A strategy with parameters fitted on a data set's train/dev split (the transfer
    protocol of ``sage bench agent --tune-on``). Returns the fitted values, for the report."""

    def fit(self, train: Sequence[object], dev: Sequence[object]) -> dict[str, float]: ...


def balanced_accuracy(pred: Sequence[bool], gold: Sequence[bool]) -> float:
    """Mean of the recall on each class (0.5 for any constant answer)."""
    p, g = np.asarray(pred, dtype=bool), np.asarray(gold, dtype=bool)
    recalls = [float(np.mean(p[g == label] == label)) for label in (True, False) if (g == label).any()]
    return float(np.mean(recalls)) if recalls else 0.0


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The cut ``score > t`` with the best balanced accuracy on (dev) ``scores``; midway
    between neighbouring scores so the cut generalises, the middle one on ties."""
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    if len(s) == 0 or y.all() or not y.any():
        return 0.0
    values = np.unique(s)
    cuts = np.concatenate([[values[0] - 1.0], (values[:-1] + values[1:]) / 2, [values[-1] + 1.0]])
    quality = np.array([balanced_accuracy(s > c, y) for c in cuts])
    best = np.flatnonzero(quality >= quality.max() - 1e-12)
    return float(cuts[best[len(best) // 2]])
