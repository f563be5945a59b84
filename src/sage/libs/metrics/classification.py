"""Binary decisions (call a tool or not, relevant or not): accuracy, precision, recall,
F1 and the confusion matrix they come from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (0 when both are 0)."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


@dataclass
class Confusion:
    """Counts of (predicted, actual) outcomes; the rates are 0 when undefined."""

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
        return f1_score(self.precision, self.recall)

    def to_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "accuracy": self.accuracy, "precision": self.precision,
                "recall": self.recall, "f1": self.f1}


def confusion(pairs: Iterable[tuple[bool, bool]]) -> Confusion:
    """The confusion matrix of ``(predicted, actual)`` pairs."""
    c = Confusion()
    for predicted, actual in pairs:
        c.add(bool(predicted), bool(actual))
    return c
