"""Metric definitions for the three agent tasks (pure functions over ids/labels)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


def top_k_hit(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """1 if any gold tool is among the first ``k`` ranked, else 0."""
    return 1.0 if set(ranked[:k]) & set(gold) else 0.0


def recall_at_k(ranked: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold tools found in the first ``k``."""
    g = set(gold)
    return len(set(ranked[:k]) & g) / len(g) if g else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: Sequence[str]) -> float:
    """1/rank of the first gold tool (0 if none is ranked)."""
    g = set(gold)
    for i, tool in enumerate(ranked, 1):
        if tool in g:
            return 1.0 / i
    return 0.0


def exact_match(pred: Sequence[str], gold: Sequence[str]) -> float:
    return 1.0 if list(pred) == list(gold) else 0.0


def step_accuracy(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Positional agreement over the longer plan: extra or missing steps count wrong."""
    n = max(len(pred), len(gold))
    if n == 0:
        return 1.0
    return sum(1 for p, g in zip(pred, gold, strict=False) if p == g) / n


def set_f1(pred: Sequence[str], gold: Sequence[str]) -> float:
    """Tool coverage: F1 of the predicted vs gold tool sets, order ignored."""
    p, g = set(pred), set(gold)
    if not p and not g:
        return 1.0
    if not p or not g:
        return 0.0
    tp = len(p & g)
    if tp == 0:
        return 0.0
    precision, recall = tp / len(p), tp / len(g)
    return 2 * precision * recall / (precision + recall)


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def total(self) -> int:
        return self.tp + self.fp + self.tn + self.fn

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "accuracy": self.accuracy,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def confusion(pairs: Sequence[tuple[bool, bool]]) -> Confusion:
    """Confusion matrix over (predicted, actual) pairs."""
    c = Confusion()
    for predicted, actual in pairs:
        c.add(predicted, actual)
    return c
