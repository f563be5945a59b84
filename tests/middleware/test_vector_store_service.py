"""The vector store service: dense/BM25/hybrid search, persistence, use inside a job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sage.kernel import LocalEnvironment, MapFunction
from sage.middleware.services import VectorStoreService

TEXTS = ["lantern turtles nest on Calla", "ferries link the islands",
         "Oruna makes flower salt", "the regatta is held in May"]
IDS = ["turtle#0", "ferry#0", "salt#0", "regatta#0"]
VECS = np.eye(4, dtype=np.float32).tolist()


def filled(path: Path | None = None) -> VectorStoreService:
    store = VectorStoreService(path)
    store.add(IDS, VECS, TEXTS, [{"doc_id": i.split("#")[0]} for i in IDS])
    return store


def test_dense_sparse_and_hybrid_search() -> None:
    store = filled()
    top = store.search([0, 0.9, 0.1, 0], 2)
    assert [h["id"] for h in top] == ["ferry#0", "salt#0"]
    assert top[0]["text"] == TEXTS[1] and top[0]["doc_id"] == "ferry"
    assert "text" not in top[0]["metadata"]
    assert store.search_text("where is salt made", 1)[0]["id"] == "salt#0"
    # the words point at the turtle, the vector at the regatta: both make the fused top 2
    fused = store.hybrid_search("turtles nesting", [0, 0, 0, 1], 2)
    assert {h["id"] for h in fused} == {"turtle#0", "regatta#0"}
    weighted = store.hybrid_search("turtles", [1, 0, 0, 0], 1, fusion="weighted")
    assert weighted[0]["id"] == "turtle#0"
    assert store.search([1, 0, 0, 0], 4, filter={"doc_id": "salt"})[0]["id"] == "salt#0"
    with pytest.raises(ValueError):
        store.hybrid_search("x", [1, 0, 0, 0], fusion="max")


def test_empty_store_answers_nothing() -> None:
    store = VectorStoreService()
    assert store.size() == 0
    assert store.search([1.0, 0.0], 3) == [] and store.search_text("x") == []
    with pytest.raises(ValueError):
        store.save()


def test_close_persists_and_new_instance_reloads(tmp_path: Path) -> None:
    store = filled(tmp_path / "store")
    store.close()
    again = VectorStoreService(tmp_path / "store")
    assert again.size() == 4
    assert again.search_text("regatta", 1)[0]["id"] == "regatta#0"
    assert again.search([1, 0, 0, 0], 1)[0]["id"] == "turtle#0"


class Lookup(MapFunction):
    def execute(self, vector: list[float]) -> Any:
        return self.call_service("store", vector, 1, method="search")[0]["id"]


def test_registered_as_a_service_in_a_local_job(tmp_path: Path) -> None:
    filled(tmp_path / "s").save()
    env = LocalEnvironment("store-job")
    env.register_service("store", VectorStoreService, str(tmp_path / "s"))
    out: list[str] = []
    env.from_batch(VECS).map(Lookup, parallelism=2).sink(out.append)
    env.submit()
    assert sorted(out) == sorted(IDS)


def _brute_force(metric: str, query: np.ndarray, rows: np.ndarray, k: int) -> list[int]:
    if metric == "cosine":
        rows = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        query = query / np.linalg.norm(query)
    scores = -((rows - query) ** 2).sum(axis=1) if metric == "l2" else rows @ query
    return list(np.argsort(-scores, kind="stable")[:k])


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_service_search_matches_brute_force_and_round_trips(tmp_path: Path, metric: str,
                                                            kind: str) -> None:
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(300, 16)).astype(np.float32)
    ids = [f"d{i}#0" for i in range(len(rows))]
    metas = [{"doc_id": f"d{i}", "parity": i % 2} for i in range(len(rows))]
    store = VectorStoreService(tmp_path / "s", metric=metric, kind=kind)
    store.add(ids, rows.tolist(), [f"text {i}" for i in range(len(rows))], metas)
    store.close()  # persists
    again = VectorStoreService(tmp_path / "s")
    assert again.size() == len(rows) and again.index is not None
    assert (again.index.metric, again.index.kind) == (metric, kind)
    agree = 0
    for query in rng.normal(size=(10, 16)).astype(np.float32):
        want = [ids[i] for i in _brute_force(metric, query, rows, 5)]
        got = [h["id"] for h in again.search(query.tolist(), 5)]
        if kind == "flat":
            assert got == want
        agree += len(set(got) & set(want))
        odd = again.search(query.tolist(), 5, filter={"parity": 1})
        assert len(odd) == 5 and all(h["metadata"]["parity"] == 1 for h in odd)
    assert agree >= 45  # HNSW is approximate: >= 90% of the exact top 5


def test_every_search_mode_applies_the_metadata_filter() -> None:
    store = filled()
    only = {"doc_id": ["salt", "regatta"]}
    assert {h["doc_id"] for h in store.search([1, 0, 0, 0], 4, filter=only)} == {
        "salt", "regatta"}
    assert store.search_text("turtles nest", 3, filter=only) == []  # the match is filtered
    assert [h["id"] for h in store.search_text("salt", 3, filter=only)] == ["salt#0"]
    fused = store.hybrid_search("turtles salt", [1, 0, 0, 0], 4, filter=only)
    assert {h["doc_id"] for h in fused} <= {"salt", "regatta"} and fused
    by_callable = store.search_text("ferries islands", 3, filter=lambda m: m["doc_id"] != "ferry")
    assert by_callable == []
    with pytest.raises(TypeError):
        store.search_text("x", 1, filter=["salt"])  # type: ignore[arg-type]
