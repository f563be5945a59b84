"""Evaluation metrics for QA, ranking and binary decisions (SQuAD-style normalisation).
Pure."""

from sage.libs.metrics.classification import Confusion, confusion, f1_score
from sage.libs.metrics.qa import (
    contains_answer,
    exact_match,
    normalize_answer,
    rouge_l,
    token_f1,
)
from sage.libs.metrics.retrieval import hit_at_k, mrr, recall_at_k

__all__ = [
    "Confusion",
    "confusion",
    "contains_answer",
    "exact_match",
    "f1_score",
    "hit_at_k",
    "mrr",
    "normalize_answer",
    "recall_at_k",
    "rouge_l",
    "token_f1",
]
