"""Planning metrics: a plan is an ordered list of tool ids.

Selection (top-k accuracy, recall@k, MRR) and timing (accuracy, precision, recall, F1,
confusion) use the shared definitions in :mod:`sage.libs.metrics`; only the plan
comparisons are specific to this benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence

from sage.libs.metrics import f1_score


def exact_plan(pred: Sequence[str], gold: Sequence[str]) -> float:
    """1 when the plan is the gold plan, step for step."""
    return 1.0 if list(pred) == list(gold) else 0.0


def step_accuracy(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Positional agreement over the longer plan: extra or missing steps count wrong."""
    n = max(len(pred), len(gold))
    if n == 0:
        return 1.0
    return sum(1 for p, g in zip(pred, gold, strict=False) if p == g) / n


def set_f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Tool coverage: F1 of the predicted vs gold tool sets, order ignored."""
    p, g = set(pred), set(gold)
    if not p and not g:
        return 1.0
    if not p or not g:
        return 0.0
    tp = len(p & g)
    return f1_score(tp / len(p), tp / len(g))
