"""Extra per-candidate evidence for the ``learned`` re-ranker, beyond the first stage's
cosine and BM25 (see ``features.RERANK_FEATURES``): the tool's *full* text (parameter
descriptions and allowed values too, which name units, formats and options the query
mentions), BM25 over tool names alone, and whether the query carries as many concrete
numbers as the tool takes numeric parameters. Pool-normalised like the others."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from sage.libs.agents.tools import Tool, split_name
from sage.libs.retrieval import BM25Index

EXTRA_FEATURES = (
    "full_cosine",
    "full_cosine_gap",
    "full_bm25_share",
    "name_bm25_share",
    "required_cover",
    "number_fit",
)
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_NUMERIC = {"integer", "number", "float", "int", "double", "long"}


def _props(tool: Tool) -> dict[str, dict]:
    props = tool.parameters.get("properties", {}) if isinstance(tool.parameters, dict) else {}
    return {str(k): v for k, v in props.items() if isinstance(v, dict)}


def full_text(tool: Tool) -> str:
    """Name, description, and every parameter's name, description and allowed values."""
    cached = tool.__dict__.get("_full_text")
    if cached is None:
        parts = [tool.text()]
        for name, spec in _props(tool).items():
            enum = " ".join(str(v) for v in spec.get("enum", []) or [])
            parts.append(f"{' '.join(split_name(name))}: {spec.get('description', '')} {enum}")
        cached = " ".join(p.strip() for p in parts if p.strip())
        object.__setattr__(tool, "_full_text", cached)
    return cached


def name_text(tool: Tool) -> str:
    return " ".join(split_name(tool.name))


def numeric_params(tool: Tool) -> int:
    return sum(str(s.get("type", "")).lower() in _NUMERIC for s in _props(tool).values())


def required_words(tool: Tool) -> frozenset[str]:
    req = tool.parameters.get("required", []) if isinstance(tool.parameters, dict) else []
    return frozenset(w.lower() for r in req or [] for w in split_name(str(r)))


class BM25Cache:
    """One BM25 index per (pool, text kind), the last few kept."""

    def __init__(self, size: int = 32) -> None:
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], BM25Index] = OrderedDict()
        self.size = size

    def scores(self, kind: str, query: str, tools: Sequence[Tool]) -> np.ndarray:
        key = (kind, tuple(t.id for t in tools))
        index = self._cache.get(key)
        if index is None:
            make = full_text if kind == "full" else name_text
            index = self._cache[key] = BM25Index([make(t) for t in tools], stemmer=None)
            if len(self._cache) > self.size:
                self._cache.popitem(last=False)
        return np.asarray(index.scores(query), dtype=np.float64)


def _share(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if len(x) else 0.0
    return x / top if top > 0 else np.zeros_like(x)


class ExtraFeatures:
    def __init__(self) -> None:
        self.indexes = BM25Cache()

    def rows(
        self, query: str, query_words: set[str], tools: Sequence[Tool], full_cos: np.ndarray
    ) -> np.ndarray:
        n_numbers = len(_NUMBER.findall(query))
        best = float(full_cos.max()) if len(full_cos) else 0.0
        full_bm25 = _share(self.indexes.scores("full", query, tools))
        name_bm25 = _share(self.indexes.scores("name", query, tools))
        rows = []
        for i, tool in enumerate(tools):
            req = required_words(tool)
            k = numeric_params(tool)
            rows.append([
                full_cos[i],
                full_cos[i] - best,
                full_bm25[i],
                name_bm25[i],
                len(req & query_words) / len(req) if req else 0.0,
                min(n_numbers, k) / max(n_numbers, k) if max(n_numbers, k) else 1.0,
            ])
        return np.asarray(rows, dtype=np.float64).reshape(len(tools), len(EXTRA_FEATURES))
