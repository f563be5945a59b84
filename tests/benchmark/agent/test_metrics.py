"""Metric definitions the agent benchmark reports, on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from sage.benchmark.agent.metrics import (
    exact_any_order,
    exact_plan,
    multiset_f1,
    ndcg_at_k,
    step_accuracy,
)
from sage.benchmark.agent.runner import ItemResult, score_item
from sage.benchmark.agent.schema import AgentItem
from sage.benchmark.agent.stats import auroc, binary_rates, mean_ci
from sage.benchmark.agent.summary import summarize
from sage.libs.metrics import confusion, hit_at_k, mrr, recall_at_k


def test_selection_metrics() -> None:
    ranked = ["b", "a", "c", "d"]
    assert hit_at_k(ranked, ["a"], 1) == 0.0
    assert hit_at_k(ranked, ["a"], 2) == 1.0
    assert recall_at_k(ranked, ["a", "d"], 2) == 0.5
    assert recall_at_k(ranked, ["a", "d"], 4) == 1.0
    assert mrr(ranked, ["c"]) == pytest.approx(1 / 3)
    assert mrr(ranked, ["z"]) == 0.0
    assert ndcg_at_k(["a", "b"], ["a"], 5) == 1.0
    assert ndcg_at_k(["b", "a"], ["a"], 5) == pytest.approx(1 / np.log2(3))
    assert ndcg_at_k(["x", "a", "b"], ["a", "b"], 5) < ndcg_at_k(["a", "b", "x"], ["a", "b"], 5)


def test_planning_metrics_count_repeats_and_allow_any_order() -> None:
    gold = ["a", "b", "c"]
    assert exact_plan(["a", "b", "c"], gold) == 1.0
    assert exact_plan(["a", "c", "b"], gold) == 0.0
    assert exact_any_order(["a", "c", "b"], gold) == 1.0
    assert step_accuracy(["a", "c", "b"], gold) == pytest.approx(1 / 3)
    assert step_accuracy(["a", "b"], gold) == pytest.approx(2 / 3)  # a missing step counts
    assert step_accuracy(["a", "b", "c", "d"], gold) == pytest.approx(3 / 4)  # so does an extra
    # The case: gold [a, a, b] vs [a, b] is not a perfect plan.
    assert multiset_f1(["a", "b"], ["a", "a", "b"]) == pytest.approx(0.8)
    assert exact_any_order(["a", "b"], ["a", "a", "b"]) == 0.0
    assert multiset_f1([], gold) == 0.0


def test_confusion_matrix_and_balanced_rates() -> None:
    c = confusion([(True, True), (True, False), (False, False), (False, True), (True, True)])
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 1, 1)
    assert c.accuracy == pytest.approx(3 / 5)
    pred = np.array([True] * 10)
    gold = np.array([True] * 8 + [False] * 2)
    rates = binary_rates(pred, gold)
    assert rates["accuracy"] == pytest.approx(0.8) and rates["balanced_accuracy"] == 0.5
    assert auroc(np.array([0.9, 0.8, 0.1]), np.array([True, True, False])) == 1.0
    assert auroc(np.array([0.5, 0.5]), np.array([True, False])) == 0.5
    lo, hi = mean_ci([0.0, 1.0] * 50)
    assert lo < 0.5 < hi and hi - lo < 0.3


def test_score_item_uses_these_definitions() -> None:
    sel = AgentItem("s", "selection", "x", candidates=["a", "b", "c"], gold_tools=["b"])
    assert score_item("selection", sel, ["a", "b", "c"]) == {
        "top1": 0.0, "top3": 1.0, "top5": 1.0, "recall@5": 1.0, "mrr": 0.5,
        "ndcg@5": pytest.approx(1 / np.log2(3))}
    plan = AgentItem("p", "planning", "x", gold_tools=["a", "b"])
    assert score_item("planning", plan, ["b", "a"])["exact"] == 0.0
    free = AgentItem("p", "planning", "x", gold_tools=["a", "b"], meta={"order_free": True})
    assert score_item("planning", free, ["b", "a"])["exact"] == 1.0
    timing = AgentItem("t", "timing", "x", should_call=False)
    assert score_item("timing", timing, False) == {"correct": 1.0}


def _timing_result(strategy: str, pred: bool, gold: bool, score: float | None = None):
    return ItemResult("d", "timing", strategy, "x", "g", None, 0.0, prediction=pred, gold=gold,
                      scores={"correct": float(pred == gold)}, score=score)


def test_summary_flags_strategies_that_do_not_beat_a_baseline() -> None:
    gold = [True] * 8 + [False] * 2
    results = [_timing_result("always_call", True, g) for g in gold]
    results += [_timing_result("never_call", False, g) for g in gold]
    # Right on 7 of 10: below "always call" on accuracy, above it on balanced accuracy.
    preds = [True] * 6 + [False] * 2 + [False, False]
    results += [_timing_result("rules", p, g, float(p)) for p, g in zip(preds, gold, strict=True)]
    rows = {r["strategy"]: r for r in summarize(results)}
    assert rows["always_call"]["baseline"] and rows["always_call"]["below_baseline"] == []
    assert "accuracy" in rows["rules"]["below_baseline"]
    assert "balanced_accuracy" not in rows["rules"]["below_baseline"]
    assert rows["rules"]["small_n"] and rows["rules"]["n"] == 10
    lo, hi = rows["rules"]["balanced_accuracy_ci"]
    assert lo <= rows["rules"]["balanced_accuracy"] <= hi
    assert "auroc" in rows["rules"] and "auroc" not in rows["always_call"]
