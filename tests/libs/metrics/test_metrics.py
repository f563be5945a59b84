"""QA and retrieval metrics against hand-computed values."""

from __future__ import annotations

import pytest

from sage.libs.metrics import (
    confusion,
    exact_match,
    f1_score,
    hit_at_k,
    mrr,
    normalize_answer,
    recall_at_k,
    rouge_l,
    token_f1,
)


def test_normalize() -> None:
    assert normalize_answer("The  Varrow Cup!") == "varrow cup"


def test_exact_match_and_f1() -> None:
    assert exact_match("the Tidewarden.", "Tidewarden") == 1.0
    assert exact_match("Port Sela", ["Sela", "Port  Sela"]) == 1.0
    assert token_f1("Port Sela is the capital", "Port Sela") == pytest.approx(2 * 0.5 / 1.5)
    assert token_f1("nothing", "Port Sela") == 0.0
    assert token_f1("", "") == 1.0


def test_rouge_l() -> None:
    # LCS("a b c d", "a c d e") = 3 -> P = R = 3/4
    assert rouge_l("a1 b1 c1 d1", "a1 c1 d1 e1") == pytest.approx(0.75)
    assert rouge_l("x", "y") == 0.0


def test_recall_and_mrr() -> None:
    assert recall_at_k(["a", "b", "c"], {"c", "z"}, 2) == 0.0
    assert recall_at_k(["a", "b", "c"], {"c", "z"}, 3) == 0.5
    assert recall_at_k(["a"], set(), 3) == 0.0
    assert mrr(["a", "b", "c"], {"b"}) == 0.5
    assert mrr(["a"], {"q"}) == 0.0


def test_hit_at_k_f1_and_confusion() -> None:
    assert hit_at_k(["a", "b", "c"], {"c"}, 2) == 0.0
    assert hit_at_k(["a", "b", "c"], {"c", "a"}, 1) == 1.0
    assert f1_score(0.5, 1.0) == pytest.approx(2 / 3) and f1_score(0.0, 0.0) == 0.0
    c = confusion([(True, True), (False, True), (False, False)])
    assert c.to_dict() == {"tp": 1, "fp": 0, "tn": 1, "fn": 1, "accuracy": pytest.approx(2 / 3),
                           "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3)}
