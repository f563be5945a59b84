"""``learned`` timing: logistic regression over a few transferable features (how well
the best offered tool matches, how request-like the message is), fitted on a train
split with the threshold chosen on a dev split.

Training adds one negative per positive: the same message offered an unrelated item's
tools. That is what "no offered tool fits" looks like (BFCL's irrelevance
category), which chit-chat negatives alone never teach."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import numpy as np

from sage.libs.agents.features import (
    TIMING_FEATURES,
    VectorCache,
    cover,
    name_words,
    text_words,
)
from sage.libs.agents.protocols import EmbedClient
from sage.libs.agents.text import words
from sage.libs.agents.timing import NEGATIVE_PROTOTYPES, POSITIVE_PROTOTYPES, RulesTiming
from sage.libs.agents.tools import Tool
from sage.libs.agents.tuning import best_threshold
from sage.libs.agents.types import TimingExample, TimingResult

_NUMBER = re.compile(r"\d")


class LearnedTiming:
    name = "learned"
    needs_fit = True  # no useful default weights: fitted by the benchmark's --tune-on

    def __init__(
        self,
        client: EmbedClient,
        c: float = 1.0,
        augment: bool = True,
        seed: int = 0,
        max_train: int | None = None,
    ) -> None:
        self.vectors = VectorCache(client)
        self.c = c
        self.augment = augment
        self.seed = seed
        self.max_train = max_train  # a seeded sample of train items (quick runs, tests)
        self.rules = RulesTiming()
        self.model: object | None = None
        self.threshold = 0.0

    def features(self, message: str, tools: Sequence[Tool]) -> np.ndarray:
        q = self.vectors.get([message])[0]
        pos = self.vectors.get(list(POSITIVE_PROTOTYPES))
        neg = self.vectors.get(list(NEGATIVE_PROTOTYPES))
        margin = float(np.sort(pos @ q)[-3:].mean() - np.sort(neg @ q)[-3:].mean())
        msg_words = set(words(message))
        if tools:
            best_cos = float((self.vectors.get([t.text() for t in tools]) @ q).max())
            name_cover = max(cover(name_words(t), msg_words) for t in tools)
            vocab = frozenset().union(*(text_words(t) for t in tools))
            msg_cover = cover(msg_words, vocab)
        else:
            best_cos, name_cover, msg_cover = 0.0, 0.0, 0.0
        r = self.rules.decide(message, tools)
        rules_p = r.confidence if r.call else 1.0 - r.confidence
        row = [
            best_cos,
            0.0 if tools else 1.0,
            name_cover,
            msg_cover,
            margin,
            rules_p,
            1.0 if message.strip().endswith("?") else 0.0,
            1.0 if _NUMBER.search(message) else 0.0,
        ]
        assert len(row) == len(TIMING_FEATURES)
        return np.asarray(row)

    def _matrix(self, examples: Sequence[TimingExample]) -> tuple[np.ndarray, np.ndarray]:
        self.vectors.get([e.message for e in examples])  # one batched embedding pass
        x = np.stack([self.features(e.message, e.tools) for e in examples])
        return x, np.asarray([e.should_call for e in examples], dtype=bool)

    def _augmented(self, examples: Sequence[TimingExample]) -> list[TimingExample]:
        """``examples`` plus, per positive, its message offered tools of an unrelated
        item (no shared tool, no shared category): a negative by definition."""
        rng = random.Random(self.seed)
        out = list(examples)
        positives = [e for e in examples if e.should_call and e.tools]

        def topics(e: TimingExample) -> tuple[set[str], set[str]]:
            return {t.id for t in e.tools}, {t.category for t in e.tools} - {"", "bfcl"}

        for e in positives:
            ids, cats = topics(e)
            others = [o for o in positives if not (ids & topics(o)[0] or cats & topics(o)[1])]
            if others:
                out.append(TimingExample(e.message, rng.choice(others).tools, False))
        return out

    def fit(
        self, train: Sequence[TimingExample], dev: Sequence[TimingExample]
    ) -> dict[str, float]:
        """Weights on ``train`` (+ mismatched-tool negatives), threshold on ``dev``."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.max_train is not None and len(train) > self.max_train:
            train = random.Random(self.seed).sample(list(train), self.max_train)
        examples = self._augmented(train) if self.augment else list(train)
        x, y = self._matrix(examples)
        if y.all() or not y.any():
            raise ValueError("timing training data needs both labels")
        self.model = make_pipeline(
            StandardScaler(), LogisticRegression(C=self.c, class_weight="balanced")
        ).fit(x, y)
        if dev:  # as it is: the threshold is for the data's own mix of negatives
            dx, dy = self._matrix(dev)
            self.threshold = best_threshold(self._score(dx), dy)
        return {"train_items": float(len(x)), "threshold": self.threshold}

    def _score(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.decision_function(x))  # type: ignore[attr-defined]

    def decide(self, message: str, tools: Sequence[Tool] = ()) -> TimingResult:
        if self.model is None:
            raise RuntimeError("the learned timing strategy is not fitted (see --tune-on)")
        s = float(self._score(self.features(message, tools)[None, :])[0])
        conf = float(1.0 / (1.0 + np.exp(-abs(s - self.threshold))))
        return TimingResult(call=s > self.threshold, confidence=conf, source=self.name, score=s)
