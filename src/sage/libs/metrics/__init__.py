"""Evaluation metrics for QA and retrieval (SQuAD-style normalisation). Pure."""

from sage.libs.metrics.qa import exact_match, normalize_answer, rouge_l, token_f1
from sage.libs.metrics.retrieval import mrr, recall_at_k

__all__ = ["exact_match", "mrr", "normalize_answer", "recall_at_k", "rouge_l", "token_f1"]
