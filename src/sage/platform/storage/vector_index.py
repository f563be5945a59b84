"""A vector index on FAISS: flat (exact) or HNSW (approximate), cosine / inner product /
L2, with per-vector metadata, metadata filters and save/load.

FAISS does the search. SAGE adds what a RAG store needs around it: string ids, JSON
metadata, filtering inside the search (a FAISS ``IDSelector``, so ``k`` results come
back even when most vectors are filtered out) and an on-disk format that reloads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from sage.common.errors import ConfigError

METRICS = ("cosine", "ip", "l2")
KINDS = ("flat", "hnsw")
Filter = Mapping[str, Any] | Callable[[dict[str, Any]], bool] | None


@dataclass
class Hit:
    """One search result. ``score``: higher is better (cosine/IP similarity, or the
    negated squared L2 distance)."""

    id: str
    score: float
    metadata: dict[str, Any] = field(default_factory=dict)


def _matches(meta: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """Equality per key; a list/tuple/set value means "one of"."""
    for key, want in flt.items():
        have = meta.get(key)
        if isinstance(want, list | tuple | set | frozenset):
            if have not in want:
                return False
        elif have != want:
            return False
    return True


class VectorIndex:
    """``add(vectors, ids, metadata)``, ``search(query, k, filter)``, ``save``/``load``.

    Ids are unique strings; adding an existing id raises (HNSW cannot delete in place).
    """

    def __init__(self, dim: int, metric: str = "cosine", kind: str = "flat",
                 hnsw_m: int = 32, ef_search: int = 64, ef_construction: int = 80) -> None:
        if metric not in METRICS:
            raise ConfigError(f"metric must be one of {METRICS}")
        if kind not in KINDS:
            raise ConfigError(f"kind must be one of {KINDS}")
        if dim <= 0:
            raise ConfigError("dim must be positive")
        self.dim = dim
        self.metric = metric
        self.kind = kind
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self.ef_construction = ef_construction
        self.ids: list[str] = []
        self.metadata: list[dict[str, Any]] = []
        self._pos: dict[str, int] = {}
        self._index = self._new_index()

    def _new_index(self) -> Any:
        faiss_metric = faiss.METRIC_L2 if self.metric == "l2" else faiss.METRIC_INNER_PRODUCT
        if self.kind == "flat":
            return faiss.IndexFlat(self.dim, faiss_metric)
        index = faiss.IndexHNSWFlat(self.dim, self.hnsw_m, faiss_metric)
        index.hnsw.efConstruction = self.ef_construction
        index.hnsw.efSearch = self.ef_search
        return index

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item: object) -> bool:
        return item in self._pos

    def _prepare(self, vectors: Any) -> np.ndarray:
        x = np.ascontiguousarray(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected vectors of dimension {self.dim}, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("vectors contain NaN or infinity")
        if self.metric == "cosine":
            x = x.copy()
            faiss.normalize_L2(x)
        return x

    def add(self, vectors: Any, ids: Sequence[str],
            metadata: Sequence[dict[str, Any]] | None = None) -> None:
        x = self._prepare(vectors)
        ids = [str(i) for i in ids]
        if len(ids) != len(x):
            raise ValueError(f"{len(x)} vectors but {len(ids)} ids")
        if metadata is not None and len(metadata) != len(ids):
            raise ValueError("one metadata dict per vector")
        if len(set(ids)) != len(ids) or any(i in self._pos for i in ids):
            raise ValueError("ids must be unique (an id is already in the index)")
        self._index.add(x)
        for n, vid in enumerate(ids):
            self._pos[vid] = len(self.ids)
            self.ids.append(vid)
            self.metadata.append(dict(metadata[n]) if metadata is not None else {})

    def get(self, vid: str) -> dict[str, Any] | None:
        pos = self._pos.get(vid)
        return None if pos is None else self.metadata[pos]

    def _allowed(self, flt: Filter) -> np.ndarray | None:
        if flt is None:
            return None
        test = flt if callable(flt) else (lambda m: _matches(m, flt))  # type: ignore[arg-type]
        return np.fromiter((i for i, m in enumerate(self.metadata) if test(m)), dtype=np.int64)

    def search(self, query: Any, k: int = 10, filter: Filter = None) -> list[Hit]:  # noqa: A002
        """The ``k`` nearest vectors to one query vector, best first."""
        return self.search_batch([query], k, filter)[0]

    def search_batch(self, queries: Any, k: int = 10, filter: Filter = None,  # noqa: A002
                     ) -> list[list[Hit]]:
        """One result list per query row (one FAISS call for the whole batch)."""
        q = self._prepare(queries)
        if k <= 0 or not self.ids:
            return [[] for _ in range(len(q))]
        allowed = self._allowed(filter)
        params = None
        if allowed is not None:
            if allowed.size == 0:
                return [[] for _ in range(len(q))]
            selector = faiss.IDSelectorBatch(allowed)
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=max(self.ef_search, k))
            else:
                params = faiss.SearchParameters(sel=selector)
        elif self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        k_eff = min(k, len(self.ids) if allowed is None else int(allowed.size))
        scores, idx = self._index.search(q, k_eff, params=params)
        out = []
        for row_s, row_i in zip(scores, idx, strict=True):
            hits = []
            for s, i in zip(row_s, row_i, strict=True):
                if i < 0:
                    continue
                score = -float(s) if self.metric == "l2" else float(s)
                hits.append(Hit(self.ids[i], score, self.metadata[i]))
            out.append(hits)
        return out

    def vectors(self) -> np.ndarray:
        """All stored vectors (normalised for cosine), in insertion order."""
        if not self.ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.kind == "flat":
            return faiss.rev_swig_ptr(self._index.get_xb(), len(self.ids) * self.dim).reshape(
                len(self.ids), self.dim).copy()
        return np.vstack([self._index.reconstruct(i) for i in range(len(self.ids))])

    # -- persistence ---------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``index.faiss`` + ``meta.json`` into the folder ``path``."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self._index, str(folder / "index.faiss"))
        meta = {"dim": self.dim, "metric": self.metric, "kind": self.kind,
                "hnsw_m": self.hnsw_m, "ef_search": self.ef_search,
                "ef_construction": self.ef_construction,
                "ids": self.ids, "metadata": self.metadata}
        tmp = folder / "meta.json.tmp"
        tmp.write_text(json.dumps(meta), encoding="utf-8")
        tmp.replace(folder / "meta.json")
        return folder

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        folder = Path(path)
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        index = cls(meta["dim"], meta["metric"], meta["kind"], meta["hnsw_m"],
                    meta["ef_search"], meta["ef_construction"])
        index._index = faiss.read_index(str(folder / "index.faiss"))
        if index._index.ntotal != len(meta["ids"]):
            raise ValueError(f"{folder}: index holds {index._index.ntotal} vectors but "
                             f"meta.json lists {len(meta['ids'])} ids")
        index.ids = list(meta["ids"])
        index.metadata = list(meta["metadata"])
        index._pos = {vid: i for i, vid in enumerate(index.ids)}
        return index

    @staticmethod
    def exists(path: str | Path) -> bool:
        folder = Path(path)
        return (folder / "index.faiss").exists() and (folder / "meta.json").exists()
