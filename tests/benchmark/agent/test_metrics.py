"""Metric definitions the agent benchmark reports, on hand-made cases."""

from __future__ import annotations

import pytest

from sage.benchmark.agent.metrics import exact_plan, set_f1, step_accuracy
from sage.benchmark.agent.runner import score_item
from sage.benchmark.agent.schema import AgentItem
from sage.libs.metrics import confusion, hit_at_k, mrr, recall_at_k


def test_selection_metrics() -> None:
    ranked = ["b", "a", "c", "d"]
    assert hit_at_k(ranked, ["a"], 1) == 0.0
    assert hit_at_k(ranked, ["a"], 2) == 1.0
    assert recall_at_k(ranked, ["a", "d"], 2) == 0.5
    assert recall_at_k(ranked, ["a", "d"], 4) == 1.0
    assert mrr(ranked, ["c"]) == pytest.approx(1 / 3)
    assert mrr(ranked, ["z"]) == 0.0


def test_planning_metrics() -> None:
    gold = ["a", "b", "c"]
    assert exact_plan(["a", "b", "c"], gold) == 1.0
    assert exact_plan(["a", "c", "b"], gold) == 0.0
    assert step_accuracy(["a", "c", "b"], gold) == pytest.approx(1 / 3)
    assert step_accuracy(["a", "b"], gold) == pytest.approx(2 / 3)  # a missing step counts
    assert step_accuracy(["a", "b", "c", "d"], gold) == pytest.approx(3 / 4)  # so does an extra
    assert set_f1(["a", "c", "b"], gold) == 1.0
    assert set_f1(["a", "x"], gold) == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert set_f1([], gold) == 0.0


def test_confusion_matrix() -> None:
    c = confusion([(True, True), (True, False), (False, False), (False, True), (True, True)])
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 1, 1)
    assert c.accuracy == pytest.approx(3 / 5)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.f1 == pytest.approx(2 / 3)
    assert confusion([]).f1 == 0.0


def test_score_item_uses_these_definitions() -> None:
    sel = AgentItem("s", "selection", "x", candidates=["a", "b", "c"], gold_tools=["b"])
    assert score_item("selection", sel, ["a", "b", "c"]) == {
        "top1": 0.0, "top3": 1.0, "top5": 1.0, "recall@5": 1.0, "mrr": 0.5}
    plan = AgentItem("p", "planning", "x", gold_tools=["a", "b"])
    assert score_item("planning", plan, ["b", "a"]) == {
        "exact": 0.0, "step_acc": 0.0, "tool_f1": 1.0}
    timing = AgentItem("t", "timing", "x", should_call=False)
    assert score_item("timing", timing, False) == {"correct": 1.0}
