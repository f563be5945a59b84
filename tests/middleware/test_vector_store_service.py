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
