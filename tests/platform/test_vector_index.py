"""The FAISS vector index agrees with numpy brute force, filters, and round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sage.platform.storage import VectorIndex

RNG = np.random.default_rng(7)
DIM = 16
DATA = RNG.normal(size=(300, DIM)).astype(np.float32)
QUERIES = RNG.normal(size=(10, DIM)).astype(np.float32)
IDS = [f"v{i}" for i in range(len(DATA))]
META = [{"group": i % 3, "even": i % 2 == 0} for i in range(len(DATA))]


def brute_force(metric: str, query: np.ndarray, rows: np.ndarray, k: int) -> tuple[list[int],
                                                                                     np.ndarray]:
    if metric == "cosine":
        rows_n = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        scores = rows_n @ (query / np.linalg.norm(query))
    elif metric == "ip":
        scores = rows @ query
    else:
        scores = -((rows - query) ** 2).sum(axis=1)
    order = np.argsort(-scores, kind="stable")[:k]
    return list(order), scores[order]


def build(metric: str, kind: str) -> VectorIndex:
    index = VectorIndex(DIM, metric=metric, kind=kind, ef_search=200)
    index.add(DATA, IDS, META)
    return index


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_flat_matches_brute_force(metric: str) -> None:
    index = build(metric, "flat")
    for query in QUERIES:
        order, scores = brute_force(metric, query, DATA, 10)
        hits = index.search(query, 10)
        assert [h.id for h in hits] == [IDS[i] for i in order]
        assert [h.score for h in hits] == pytest.approx(list(scores), rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_hnsw_recall_against_brute_force(metric: str) -> None:
    index = build(metric, "hnsw")
    found = 0
    for query in QUERIES:
        order, _ = brute_force(metric, query, DATA, 10)
        found += len({h.id for h in index.search(query, 10)} & {IDS[i] for i in order})
    assert found / (10 * len(QUERIES)) >= 0.9


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_metadata_filter_matches_brute_force_on_subset(kind: str) -> None:
    index = build("cosine", kind)
    keep = [i for i, m in enumerate(META) if m["group"] in (0, 2) and m["even"]]
    for query in QUERIES[:5]:
        order, _ = brute_force("cosine", query, DATA[keep], 5)
        hits = index.search(query, 5, filter={"group": [0, 2], "even": True})
        assert all(h.metadata["group"] in (0, 2) and h.metadata["even"] for h in hits)
        if kind == "flat":
            assert [h.id for h in hits] == [IDS[keep[i]] for i in order]
        else:
            assert len(hits) == 5
    assert index.search(QUERIES[0], 5, filter=lambda m: False) == []
    assert len(index.search(QUERIES[0], 500, filter={"group": 1})) == 100


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_persistence_round_trip(tmp_path: Path, kind: str) -> None:
    index = build("l2", kind)
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert (loaded.dim, loaded.metric, loaded.kind, len(loaded)) == (DIM, "l2", kind, 300)
    for query in QUERIES[:3]:
        assert [h.id for h in loaded.search(query, 7)] == [h.id for h in index.search(query, 7)]
    assert loaded.get("v4") == META[4]
    loaded.add(RNG.normal(size=(1, DIM)), ["new"], [{"group": 9}])
    assert loaded.search(QUERIES[0], 1, filter={"group": 9})[0].id == "new"
    np.testing.assert_allclose(loaded.vectors()[:300], DATA, rtol=1e-5)


def test_bad_input_is_rejected() -> None:
    index = VectorIndex(4)
    with pytest.raises(ValueError):
        index.add(np.ones((2, 3)), ["a", "b"])
    with pytest.raises(ValueError):
        index.add(np.ones((2, 4)), ["a"])
    index.add(np.ones((1, 4)), ["a"])
    with pytest.raises(ValueError):
        index.add(np.ones((1, 4)), ["a"])
    with pytest.raises(ValueError):
        index.search([float("nan")] * 4)
    with pytest.raises(ValueError):
        VectorIndex(4, metric="hamming")
    assert VectorIndex(4).search(np.ones(4)) == []
