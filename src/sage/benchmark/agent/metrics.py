"""Plan and ranking metrics of the agent benchmark.

A plan is a list of tool ids. BFCL's parallel calls are order-free and repeat tools
(gold ``[a, a, b]``), so plans are compared as multisets (``multiset_f1``,
``exact_any_order``) beside the ordered comparisons. Selection's top-k, recall@k and
MRR are the shared definitions in :mod:`sage.libs.metrics`; NDCG@k is here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence

from sage.libs.metrics import f1_score


def exact_plan(pred: Sequence[str], gold: Sequence[str]) -> float:
    """1 when the plan is the gold plan, step for step."""
    return 1.0 if list(pred) == list(gold) else 0.0


def exact_any_order(pred: Sequence[str], gold: Sequence[str]) -> float:
    """1 when the plan makes the gold calls in any order (same tools, same counts)."""
    return 1.0 if Counter(pred) == Counter(gold) else 0.0


def step_accuracy(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Positional agreement over the longer plan: extra or missing steps count wrong."""
    n = max(len(pred), len(gold))
    if n == 0:
        return 1.0
    return sum(1 for p, g in zip(pred, gold, strict=False) if p == g) / n


def multiset_f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """F1 over calls counted with repeats: gold ``[a, a, b]`` vs ``[a, b]`` is 0.8."""
    if not pred and not gold:
        return 1.0
    if not pred or not gold:
        return 0.0
    tp = sum((Counter(pred) & Counter(gold)).values())
    return f1_score(tp / len(pred), tp / len(gold))


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-relevance NDCG@k: 1 when every relevant id leads the ranking."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(ranked[:k]) if r in rel)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(rel))))
    return dcg / ideal
