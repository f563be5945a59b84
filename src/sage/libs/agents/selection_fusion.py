"""``fusion`` selection: reciprocal-rank fusion of three rankings, embedding cosine on
the tool's short text, embedding cosine on its full text and BM25 on its full text
(:func:`sage.libs.agents.rerank_features.full_text`: parameter descriptions and allowed
values too). Parameter descriptions carry the units, formats and options a query names
("in miles", "vegan"), which tell near-duplicate tools of a large pool apart.

Nothing is fitted. The three rankings were picked by looking at BFCL's train/dev split
and the synthetic train/dev split only (see docs/results/2026-12-04-agent.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sage.libs.agents.features import VectorCache
from sage.libs.agents.protocols import EmbedClient
from sage.libs.agents.rerank_features import BM25Cache, full_text
from sage.libs.agents.tools import Tool
from sage.libs.agents.types import SelectionResult


def ranks(scores: np.ndarray) -> np.ndarray:
    """0-based rank of each score, highest first (ties keep their order): what RRF fuses."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores))
    out[order] = np.arange(len(scores))
    return out


class FusionSelector:
    """The three rankings of the module docstring, fused by RRF (``rrf_k``)."""

    name = "fusion"

    def __init__(self, client: EmbedClient, rrf_k: int = 60) -> None:
        self.vectors = VectorCache(client)
        self.indexes = BM25Cache()
        self.rrf_k = rrf_k

    def scores(self, query: str, tools: Sequence[Tool]) -> list[float]:
        if not tools:
            return []
        q = self.vectors.get([query])[0]
        rankings = [
            self.vectors.get([t.text() for t in tools]) @ q,
            self.vectors.get([full_text(t) for t in tools]) @ q,
            self.indexes.scores("full", query, tools),
        ]
        fused = sum(1.0 / (self.rrf_k + 1 + ranks(np.asarray(r, dtype=float))) for r in rankings)
        return [float(v) for v in fused]

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        s = self.scores(query, tools)
        order = sorted(range(len(tools)), key=lambda i: (-s[i], i))[: max(top_k, 0)]
        return SelectionResult(ranked=[tools[i].id for i in order], scores=[s[i] for i in order])
