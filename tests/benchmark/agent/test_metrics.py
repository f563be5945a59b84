"""Metric definitions on hand-made cases."""

from __future__ import annotations

import pytest

from sage.benchmark.agent import metrics as m


def test_selection_metrics() -> None:
    ranked = ["b", "a", "c", "d"]
    assert m.top_k_hit(ranked, ["a"], 1) == 0.0
    assert m.top_k_hit(ranked, ["a"], 2) == 1.0
    assert m.recall_at_k(ranked, ["a", "d"], 2) == 0.5
    assert m.recall_at_k(ranked, ["a", "d"], 4) == 1.0
    assert m.reciprocal_rank(ranked, ["c"]) == pytest.approx(1 / 3)
    assert m.reciprocal_rank(ranked, ["z"]) == 0.0


def test_planning_metrics() -> None:
    gold = ["a", "b", "c"]
    assert m.exact_match(["a", "b", "c"], gold) == 1.0
    assert m.exact_match(["a", "c", "b"], gold) == 0.0
    assert m.step_accuracy(["a", "c", "b"], gold) == pytest.approx(1 / 3)
    assert m.step_accuracy(["a", "b"], gold) == pytest.approx(2 / 3)  # a missing step counts
    assert m.step_accuracy(["a", "b", "c", "d"], gold) == pytest.approx(3 / 4)  # so does an extra
    assert m.set_f1(["a", "c", "b"], gold) == 1.0
    assert m.set_f1(["a", "x"], gold) == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))
    assert m.set_f1([], gold) == 0.0


def test_confusion_matrix() -> None:
    c = m.confusion([(True, True), (True, False), (False, False), (False, True), (True, True)])
    assert (c.tp, c.fp, c.tn, c.fn) == (2, 1, 1, 1)
    assert c.accuracy == pytest.approx(3 / 5)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.f1 == pytest.approx(2 / 3)
    assert m.confusion([]).f1 == 0.0
