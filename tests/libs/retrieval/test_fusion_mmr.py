"""Rank fusion and MMR against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from sage.libs.retrieval import mmr, reciprocal_rank_fusion, weighted_fusion


def test_rrf_matches_formula() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)
    assert fused["d"] == pytest.approx(1 / 62)
    assert reciprocal_rank_fusion([["a", "b", "c"], ["b", "d"]])[0][0] == "b"


def test_rrf_weights() -> None:
    fused = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert [d for d, _ in fused] == ["b", "a"]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([["a"]], weights=[1, 2])


def test_weighted_fusion_minmax() -> None:
    fused = dict(weighted_fusion([{"a": 10.0, "b": 0.0}, {"b": 3.0, "c": 1.0}], [0.5, 0.5]))
    assert fused == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.0})


def test_mmr_prefers_diverse_items() -> None:
    query = np.array([1.0, 0.0])
    cands = np.array([[1.0, 0.01], [1.0, 0.02], [0.7, 0.7]])
    assert mmr(query, cands, 2, lambda_=1.0) == [0, 1]
    assert mmr(query, cands, 2, lambda_=0.3) == [0, 2]
    assert mmr(query, cands[:0], 2) == []
    with pytest.raises(ValueError):
        mmr(query, cands, 1, lambda_=2)
