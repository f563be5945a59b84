"""``learned`` selection: hybrid (BM25 + embedding) retrieves, a logistic-regression
re-ranker over pool-normalised features (see ``RERANK_FEATURES``) orders its top
``depth``. Fitted on a train split; the features are shares and ranks within the pool,
so one model serves pools of 10 or 500 tools."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from sage.libs.agents.features import RERANK_FEATURES, VectorCache, rerank_features
from sage.libs.agents.protocols import EmbedClient
from sage.libs.agents.rerank_features import EXTRA_FEATURES, ExtraFeatures, full_text
from sage.libs.agents.selection import BM25Selector
from sage.libs.agents.selection_fusion import ranks
from sage.libs.agents.text import words
from sage.libs.agents.tools import Tool
from sage.libs.agents.types import SelectionExample, SelectionResult

_FULL_BM25 = len(RERANK_FEATURES) + EXTRA_FEATURES.index("full_bm25_share")


class LearnedReranker:
    name = "learned"
    needs_fit = True  # no useful default weights: fitted by the benchmark's --tune-on

    def __init__(
        self,
        client: EmbedClient,
        depth: int = 20,
        c: float = 1.0,
        extra: bool = True,
        first_stage: str = "hybrid",
        max_train: int | None = None,
    ) -> None:
        self.vectors = VectorCache(client)
        self.bm25 = BM25Selector()
        self.depth = depth
        self.c = c
        self.max_train = max_train  # a seeded sample of train queries (quick runs, tests)
        if first_stage not in ("hybrid", "fusion"):
            raise ValueError("first_stage must be 'hybrid' or 'fusion'")
        self.extra = ExtraFeatures() if extra or first_stage == "fusion" else None
        self.first_stage = first_stage
        self.model: object | None = None

    def _pool(self, query: str, tools: Sequence[Tool]) -> tuple[np.ndarray, np.ndarray]:
        """Features of every candidate and the first stage's order: RRF of BM25 and
        cosine (``hybrid``), or the ``fusion`` selector's RRF (cosine on short and full
        tool text, BM25 on full text)."""
        q = self.vectors.get([query])[0]
        cos = self.vectors.get([t.text() for t in tools]) @ q
        bm25 = np.asarray(self.bm25.scores(query, tools), dtype=np.float64)
        qw = set(words(query))
        x = rerank_features(qw, tools, cos.astype(np.float64), bm25)
        rrf = x[:, 2] + np.where(x[:, 3] > 0, x[:, 4], 0.0)  # 1/(1+rank) of both rankings
        order = np.argsort(-rrf, kind="stable")
        if self.extra is not None:
            full_cos = (self.vectors.get([full_text(t) for t in tools]) @ q).astype(np.float64)
            x = np.hstack([x, self.extra.rows(query, qw, tools, full_cos)])
            if self.first_stage == "fusion":
                fused = sum(1.0 / (61.0 + ranks(v)) for v in (cos, full_cos, x[:, _FULL_BM25]))
                order = np.argsort(-fused, kind="stable")
        return x, order

    def fit(
        self, train: Sequence[SelectionExample], dev: Sequence[SelectionExample]
    ) -> dict[str, float]:
        """Pointwise logistic regression on the first stage's top ``depth`` of every
        train query (the gold tool added where the first stage missed it)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.max_train is not None and len(train) > self.max_train:
            train = random.Random(0).sample(list(train), self.max_train)
        self.vectors.get(list(dict.fromkeys(e.query for e in train)))
        self.vectors.get(list(dict.fromkeys(t.text() for e in train for t in e.tools)))
        if self.extra is not None:
            self.vectors.get(list(dict.fromkeys(full_text(t) for e in train for t in e.tools)))
        xs, ys = [], []
        for e in train:
            x, order = self._pool(e.query, e.tools)
            keep = list(order[: self.depth])
            keep += [i for i, t in enumerate(e.tools) if t.id in e.gold and i not in keep]
            xs.append(x[keep])
            ys.append([e.tools[i].id in e.gold for i in keep])
        x_all, y_all = np.concatenate(xs), np.concatenate(ys)
        if y_all.all() or not y_all.any():
            raise ValueError("selection training data needs gold and other tools")
        self.model = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.c, class_weight="balanced")
        ).fit(x_all, y_all)
        return {"train_pairs": float(len(y_all)), "depth": float(self.depth)}

    def select(self, query: str, tools: Sequence[Tool], top_k: int = 10) -> SelectionResult:
        if self.model is None:
            raise RuntimeError("the learned selection strategy is not fitted (see --tune-on)")
        if not tools:
            return SelectionResult()
        x, order = self._pool(query, tools)
        head, tail = order[: self.depth], order[self.depth :]
        s = np.asarray(self.model.decision_function(x[head]))  # type: ignore[attr-defined]
        reranked = [int(head[i]) for i in np.argsort(-s, kind="stable")] + [int(i) for i in tail]
        top = reranked[: max(top_k, 0)]
        scores = [float(v) for v in s[np.argsort(-s, kind="stable")]][: len(top)]
        return SelectionResult(ranked=[tools[i].id for i in top], scores=scores)
