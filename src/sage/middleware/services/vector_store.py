"""The vector store service: dense (FAISS), sparse (BM25) and hybrid search over chunks.

One service instance per job owns the index; operators reach it with
``self.call_service("vector_store", ..., method="search")``. It answers in plain dicts
so results cross process boundaries (Ray) unchanged. Built once (``add`` + ``save``),
then loaded by ``path`` in every job that queries it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sage.common.errors import ConfigError
from sage.kernel import BaseService
from sage.libs.retrieval import BM25Index, reciprocal_rank_fusion, weighted_fusion
from sage.platform.storage import Hit, VectorIndex
from sage.platform.storage.vector_index import Filter

TEXT_KEY = "text"


def _predicate(flt: Filter) -> Callable[[dict[str, Any]], bool] | None:
    """The filter as a test on one chunk's metadata: a mapping means equality per key, a
    list/tuple/set value "one of" (the ``VectorIndex`` convention), so dense, BM25 and
    hybrid search all filter the same way."""
    if flt is None or callable(flt):
        return flt
    if not isinstance(flt, Mapping):
        raise TypeError("filter must be a mapping or a callable")
    many = (list, tuple, set, frozenset)
    return lambda meta: all(
        meta.get(key) in want if isinstance(want, many) else meta.get(key) == want
        for key, want in flt.items())


def _result(hit: Hit) -> dict[str, Any]:
    meta = dict(hit.metadata)
    text = meta.pop(TEXT_KEY, "")
    return {"id": hit.id, "doc_id": meta.get("doc_id", hit.id), "text": text,
            "score": hit.score, "metadata": meta}


class VectorStoreService(BaseService):
    """``add``, ``search`` (dense), ``search_text`` (BM25), ``hybrid_search``, ``save``.
    Every search takes the same metadata ``filter`` (``{"doc_id": "salt"}``,
    ``{"lang": ["en", "de"]}`` or a callable on the metadata dict).

    ``path``: a folder; loaded when it holds an index, written by ``save()`` and on
    ``close()`` when changed. ``dim`` may be left out: the first ``add`` sets it.
    """

    def __init__(self, path: str | Path | None = None, dim: int | None = None,
                 metric: str = "cosine", kind: str = "flat") -> None:
        self.path = Path(path) if path is not None else None
        self.metric = metric
        self.kind = kind
        self.index: VectorIndex | None = None
        if self.path is not None and VectorIndex.exists(self.path):
            self.index = VectorIndex.load(self.path)
        elif dim is not None:
            self.index = VectorIndex(dim, metric, kind)
        self._bm25: BM25Index | None = None
        self._dirty = False

    # -- writing -----------------------------------------------------------------------
    def add(self, ids: Sequence[str], vectors: Sequence[Sequence[float]], texts: Sequence[str],
            metadata: Sequence[dict[str, Any]] | None = None) -> int:
        """Add chunks; returns the store's size."""
        if not (len(ids) == len(vectors) == len(texts)):
            raise ValueError("ids, vectors and texts differ in length")
        if not ids:
            return self.size()
        if self.index is None:
            self.index = VectorIndex(len(vectors[0]), self.metric, self.kind)
        metas = [{**(metadata[i] if metadata else {}), TEXT_KEY: texts[i]}
                 for i in range(len(ids))]
        self.index.add(vectors, list(ids), metas)
        self._bm25 = None
        self._dirty = True
        return self.size()

    def save(self, path: str | Path | None = None) -> str:
        target = Path(path) if path is not None else self.path
        if target is None:
            raise ConfigError("no path to save to")
        if self.index is None:
            raise ValueError("the store is empty")
        self.index.save(target)
        self._dirty = False
        return str(target)

    # -- reading -----------------------------------------------------------------------
    def size(self) -> int:
        return 0 if self.index is None else len(self.index)

    def process(self, vector: Sequence[float], k: int = 5) -> list[dict[str, Any]]:
        return self.search(vector, k)

    def search(self, vector: Sequence[float], k: int = 5,
               filter: Filter = None) -> list[dict[str, Any]]:  # noqa: A002
        """Dense nearest neighbours of one query vector."""
        if self.index is None:
            return []
        return [_result(h) for h in self.index.search(vector, k, _predicate(filter))]

    def search_batch(self, vectors: Sequence[Sequence[float]], k: int = 5,
                     filter: Filter = None) -> list[list[dict[str, Any]]]:  # noqa: A002
        if self.index is None:
            return [[] for _ in vectors]
        rows = self.index.search_batch(vectors, k, _predicate(filter))
        return [[_result(h) for h in row] for row in rows]

    def _sparse(self) -> BM25Index:
        if self._bm25 is None:
            assert self.index is not None
            self._bm25 = BM25Index([m.get(TEXT_KEY, "") for m in self.index.metadata],
                                   self.index.ids)
        return self._bm25

    def _sparse_search(self, query: str, k: int, flt: Filter) -> list[tuple[str, float]]:
        """BM25 top ``k`` (positive scores only) among the chunks passing ``flt``."""
        assert self.index is not None
        test = _predicate(flt)
        allowed = None if test is None else np.fromiter(
            (test(m) for m in self.index.metadata), dtype=bool, count=len(self.index))
        return self._sparse().search(query, k, allowed)

    def search_text(self, query: str, k: int = 5,
                    filter: Filter = None) -> list[dict[str, Any]]:  # noqa: A002
        """BM25 over the stored chunk texts (built on first use, rebuilt after ``add``)."""
        if self.index is None:
            return []
        return [self._by_id(vid, score) for vid, score in self._sparse_search(query, k, filter)]

    def hybrid_search(self, query: str, vector: Sequence[float], k: int = 5,
                      fetch_k: int | None = None, fusion: str = "rrf",
                      weights: Sequence[float] = (0.5, 0.5), rrf_k: int = 60,
                      filter: Filter = None,  # noqa: A002
                      ) -> list[dict[str, Any]]:
        """Dense + BM25 fused by reciprocal rank (``rrf``) or min-max ``weighted`` sum
        (``weights`` = dense, sparse)."""
        if self.index is None:
            return []
        fetch = fetch_k or max(4 * k, 20)
        dense = self.index.search(vector, fetch, _predicate(filter))
        sparse = self._sparse_search(query, fetch, filter)
        if fusion == "rrf":
            fused = reciprocal_rank_fusion([[h.id for h in dense], [i for i, _ in sparse]],
                                           k=rrf_k, weights=list(weights))
        elif fusion == "weighted":
            fused = weighted_fusion([{h.id: h.score for h in dense}, dict(sparse)],
                                    list(weights))
        else:
            raise ConfigError(f"unknown fusion {fusion!r} (rrf or weighted)")
        return [self._by_id(vid, score) for vid, score in fused[:k]]

    def _by_id(self, vid: str, score: float) -> dict[str, Any]:
        assert self.index is not None
        return _result(Hit(vid, float(score), self.index.get(vid) or {}))

    def close(self) -> None:
        if self._dirty and self.path is not None and self.index is not None:
            self.save()
