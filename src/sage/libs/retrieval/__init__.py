"""Retrieval algorithms: BM25 (bm25s), rank fusion and MMR diversification. Pure."""

from sage.libs.retrieval.bm25 import BM25Index, light_stem
from sage.libs.retrieval.fusion import reciprocal_rank_fusion, weighted_fusion
from sage.libs.retrieval.mmr import cosine_matrix, mmr

__all__ = [
    "BM25Index",
    "cosine_matrix",
    "light_stem",
    "mmr",
    "reciprocal_rank_fusion",
    "weighted_fusion",
]
