"""Features the learned strategies are fitted on. Kept few and scale-free (cosines,
overlap shares, ranks within the pool) so weights fitted on one data set can transfer
to another: the benchmark's ``--tune-on`` protocol measures exactly that."""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set

import numpy as np

from sage.libs.agents.protocols import EmbedClient
from sage.libs.agents.text import words
from sage.libs.agents.tools import Tool, split_name

RERANK_FEATURES = (
    "cosine",
    "cosine_gap",
    "embedding_rr",
    "bm25_share",
    "bm25_rr",
    "name_cover",
    "query_cover",
    "param_cover",
)


class VectorCache:
    """Embeddings by text, fetched in batches from an :class:`EmbedClient`."""

    def __init__(self, client: EmbedClient, batch_size: int = 64) -> None:
        self.client = client
        self.batch_size = batch_size
        self._vectors: dict[str, np.ndarray] = {}

    def get(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        for i in range(0, len(missing), self.batch_size):
            chunk = missing[i : i + self.batch_size]
            for text, vec in zip(chunk, self.client.embed(chunk), strict=True):
                v = np.asarray(vec, dtype=np.float32)
                norm = float(np.linalg.norm(v))
                self._vectors[text] = v / norm if norm else v
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts])


_WORDS: dict[tuple[str, str], frozenset[str]] = {}


def _cached(tool: Tool, part: str, make: Callable[[], str]) -> frozenset[str]:
    key = (tool.id, part)
    found = _WORDS.get(key)
    if found is None:
        found = _WORDS[key] = frozenset(words(make()))
    return found


def name_words(tool: Tool) -> frozenset[str]:
    return _cached(tool, "name", lambda: " ".join(split_name(tool.name)))


def param_words(tool: Tool) -> frozenset[str]:
    props = tool.parameters.get("properties", {}) if isinstance(tool.parameters, dict) else {}
    return _cached(tool, "params", lambda: " ".join(" ".join(split_name(str(k))) for k in props))


def text_words(tool: Tool) -> frozenset[str]:
    return _cached(tool, "text", tool.text)


def cover(part: Set[str], whole: Set[str]) -> float:
    """Share of ``part`` found in ``whole`` (0 for an empty ``part``)."""
    return len(part & whole) / len(part) if part else 0.0


def _reciprocal_ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(len(scores))
    return 1.0 / (1.0 + ranks)


def rerank_features(
    query_words: set[str],
    tools: Sequence[Tool],
    cos: np.ndarray,
    bm25: np.ndarray,
) -> np.ndarray:
    """One row per candidate, normalised within the pool (see ``RERANK_FEATURES``)."""
    top_bm25 = float(bm25.max()) if len(bm25) else 0.0
    rows = []
    cos_rr, bm25_rr = _reciprocal_ranks(cos), _reciprocal_ranks(bm25)
    best = float(cos.max()) if len(cos) else 0.0
    for i, tool in enumerate(tools):
        rows.append(
            [
                cos[i],
                cos[i] - best,
                cos_rr[i],
                bm25[i] / top_bm25 if top_bm25 > 0 else 0.0,
                bm25_rr[i] if top_bm25 > 0 else 0.0,
                cover(name_words(tool), query_words),
                cover(query_words, text_words(tool)),
                cover(param_words(tool), query_words),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(tools), len(RERANK_FEATURES))
