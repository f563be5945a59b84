"""``learned`` timing: a classifier over transferable features (see
:mod:`sage.libs.agents.timing_features`: is the message a request, does an offered tool
fit it), fitted on a train split with the threshold chosen on a dev split.

Training adds negatives: each positive's message offered the tools of ``mismatches``
unrelated items (no shared tool or category), and, with ``near_misses``, the tools of an
item of the same category minus every tool the message was offered with. That is what
"no offered tool fits" looks like (BFCL's irrelevance category), which chit-chat
negatives alone never teach. The dev split gets the same negatives before the threshold
is chosen, so the threshold weighs both kinds of "no call"."""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from sage.libs.agents.features import VectorCache
from sage.libs.agents.protocols import EmbedClient
from sage.libs.agents.timing_features import (
    MATCH_COLUMNS,
    REQUEST_COLUMNS,
    TIMING_FEATURES,
    TimingFeatures,
)
from sage.libs.agents.tools import Tool
from sage.libs.agents.tuning import best_threshold
from sage.libs.agents.types import TimingExample, TimingResult

MODELS = ("logistic", "boosting", "factored")


class LearnedTiming:
    name = "learned"
    needs_fit = True  # no useful default weights: fitted by the benchmark's --tune-on

    def __init__(
        self,
        client: EmbedClient,
        c: float = 1.0,
        augment: bool = True,
        mismatches: int = 2,
        near_misses: int = 1,
        augment_dev: bool = True,
        model: str = "factored",
        seed: int = 0,
        max_train: int | None = None,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}")
        self.vectors = VectorCache(client)
        self.featurizer = TimingFeatures(self.vectors)
        self.c = c
        self.augment = augment
        self.mismatches = mismatches
        self.near_misses = near_misses
        self.augment_dev = augment_dev
        self.model_kind = model
        self.seed = seed
        self.max_train = max_train  # a seeded sample of train items (quick runs, tests)
        self.model: object | None = None
        self.threshold = 0.0

    def features(self, message: str, tools: Sequence[Tool]) -> np.ndarray:
        return self.featurizer.row(message, tools)

    def _matrix(self, examples: Sequence[TimingExample]) -> tuple[np.ndarray, np.ndarray]:
        self.vectors.get(list(dict.fromkeys(e.message for e in examples)))  # batched passes
        self.vectors.get(list(dict.fromkeys(t.text() for e in examples for t in e.tools)))
        x = np.stack([self.features(e.message, e.tools) for e in examples])
        return x, np.asarray([e.should_call for e in examples], dtype=bool)

    def _augmented(self, examples: Sequence[TimingExample]) -> list[TimingExample]:
        """``examples`` plus "no offered tool fits" negatives for every positive."""
        rng = random.Random(self.seed)
        out = list(examples)
        positives = [e for e in examples if e.should_call and e.tools]

        def topics(e: TimingExample) -> tuple[set[str], set[str]]:
            return {t.id for t in e.tools}, {t.category for t in e.tools} - {"", "bfcl"}

        info = [topics(e) for e in positives]
        for e, (ids, cats) in zip(positives, info, strict=True):
            unrelated = [o for o, (i, c) in zip(positives, info, strict=True)
                         if not (ids & i or cats & c)]
            for o in rng.sample(unrelated, min(self.mismatches, len(unrelated))):
                out.append(TimingExample(e.message, o.tools, False))
            near = [o for o, (_, c) in zip(positives, info, strict=True) if cats & c and o is not e]
            for o in rng.sample(near, min(self.near_misses, len(near))):
                rest = tuple(t for t in o.tools if t.id not in ids)
                if rest:
                    out.append(TimingExample(e.message, rest, False))
        return out

    def _new_model(self) -> object:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.model_kind == "boosting":
            return HistGradientBoostingClassifier(
                max_depth=3, max_iter=150, learning_rate=0.05, class_weight="balanced",
                random_state=self.seed,
            )
        return make_pipeline(
            StandardScaler(), LogisticRegression(C=self.c, class_weight="balanced", max_iter=1000)
        )

    def fit(
        self, train: Sequence[TimingExample], dev: Sequence[TimingExample]
    ) -> dict[str, float]:
        """Weights on ``train`` (+ augmented negatives), threshold on ``dev`` (+ the same)."""
        if self.max_train is not None and len(train) > self.max_train:
            train = random.Random(self.seed).sample(list(train), self.max_train)
        examples = self._augmented(train) if self.augment else list(train)
        x, y = self._matrix(examples)
        if y.all() or not y.any():
            raise ValueError("timing training data needs both labels")
        if self.model_kind == "factored":
            self.model = self._fit_factored(x, y, len(train))
        else:
            self.model = self._new_model()
            self.model.fit(x, y)  # type: ignore[attr-defined]
        if dev:
            dev_examples = self._augmented(dev) if self.augment and self.augment_dev else dev
            dx, dy = self._matrix(dev_examples)
            self.threshold = best_threshold(self._score(dx), dy)
        return {"train_items": float(len(x)), "threshold": self.threshold}

    def _fit_factored(self, x: np.ndarray, y: np.ndarray, n_original: int) -> _Factored:
        """P(request) from the request columns on the original items; P(a tool fits |
        request) from the match columns on positives vs their augmented negatives (the
        same messages, so only the tools differ)."""
        request = self._new_model()
        request.fit(x[:n_original][:, REQUEST_COLUMNS], y[:n_original])  # type: ignore[attr-defined]
        rows = np.flatnonzero(y | (np.arange(len(y)) >= n_original))
        fit = self._new_model()
        fit.fit(x[rows][:, MATCH_COLUMNS], y[rows])  # type: ignore[attr-defined]
        return _Factored(request, fit)

    def _score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.decision_function(x))  # type: ignore[attr-defined]

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        if self.model is None:
            raise RuntimeError("the learned timing strategy is not fitted (see --tune-on)")
        s = float(self._score(self.features(message, tools)[None, :])[0])
        conf = float(1.0 / (1.0 + np.exp(-abs(s - self.threshold))))
        return TimingResult(call=s > self.threshold, confidence=conf, source=self.name, score=s)


class PlainLearnedTiming(LearnedTiming):
    """``learned_plain``: one logistic regression over the same features, fitted on the
    tune set as it is (no added negatives). Best where the tune set's negatives already
    look like the evaluated ones (in distribution); it does not transfer (see the
    results page), which is why ``learned`` is factored and augmented."""

    name = "learned_plain"

    def __init__(self, client: EmbedClient, **options: object) -> None:
        options.setdefault("model", "logistic")
        options.setdefault("augment", False)
        super().__init__(client, **options)  # type: ignore[arg-type]


class _Factored:
    """log P(request) + log P(fit): calls only when both are likely."""

    def __init__(self, request: object, fit: object) -> None:
        self.request, self.fit = request, fit

    def decision_function(self, x: np.ndarray) -> np.ndarray:
        r = self.request.decision_function(x[:, REQUEST_COLUMNS])  # type: ignore[attr-defined]
        f = self.fit.decision_function(x[:, MATCH_COLUMNS])  # type: ignore[attr-defined]
        return -np.logaddexp(0.0, -r) - np.logaddexp(0.0, -f)


__all__ = ["TIMING_FEATURES", "LearnedTiming", "PlainLearnedTiming"]
