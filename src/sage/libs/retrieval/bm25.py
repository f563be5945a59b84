"""Sparse retrieval: Okapi BM25 over a text collection, scored by ``bm25s``.

``bm25s`` does the scoring; this wrapper keeps external ids next to the index, applies
the same tokenization to documents and queries, and answers "top k (id, score)".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import bm25s
import numpy as np

_SUFFIXES = ("ing", "ies", "ied", "ed", "s")


def light_stem(words: list[str]) -> list[str]:
    """A tiny suffix stripper (plural/-ing/-ed): ``engines`` and ``engine`` match without
    a stemming dependency. Applied identically to documents and queries."""
    out = []
    for w in words:
        for suffix in _SUFFIXES:
            if len(w) > len(suffix) + 3 and w.endswith(suffix) and not w.endswith("ss"):
                w = w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
                break
        out.append(w)
    return out


Stemmer = Callable[[list[str]], list[str]]


class BM25Index:
    """BM25 over ``texts`` with ids; ``search(query, k)`` returns ``[(id, score)]`` with
    positive scores only, best first.

    ``stemmer`` (default :func:`light_stem`; ``None`` for exact words) is applied to
    documents and queries alike.
    """

    def __init__(self, texts: Sequence[str], ids: Sequence[str] | None = None, *,
                 k1: float = 1.5, b: float = 0.75, stopwords: str | None = "en",
                 stemmer: Stemmer | None = light_stem) -> None:
        if ids is not None and len(ids) != len(texts):
            raise ValueError("ids and texts differ in length")
        self.ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]
        self.stopwords = stopwords
        self.stemmer = stemmer
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        if texts:
            tokens = bm25s.tokenize(list(texts), stopwords=stopwords, stemmer=stemmer,
                                    show_progress=False)
            self._bm25.index(tokens, show_progress=False)

    def __len__(self) -> int:
        return len(self.ids)

    def _query_tokens(self, query: str) -> list[str]:
        tokens = bm25s.tokenize(query, stopwords=self.stopwords, stemmer=self.stemmer,
                                return_ids=False, show_progress=False)[0]
        vocab = getattr(self._bm25, "vocab_dict", None) or {}
        return [t for t in tokens if t in vocab]

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every document for ``query`` (zeros when nothing matches)."""
        if not self.ids:
            return np.zeros(0, dtype=np.float32)
        tokens = self._query_tokens(query)
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def search(self, query: str, k: int = 10,
               allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top ``k``; ``allowed`` (one bool per document) leaves the others out."""
        scores = self.scores(query)
        if k <= 0 or scores.size == 0:
            return []
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
