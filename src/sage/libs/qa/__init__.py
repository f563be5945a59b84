"""Extractive question answering: answer types, candidate spans, span ranking. Pure."""

from sage.libs.qa.extract import (
    Candidate,
    ExtractiveConfig,
    extract_answer,
    rank_candidates,
    sentence_scores,
    sentences_of,
)
from sage.libs.qa.questions import content_stems, question_type
from sage.libs.qa.spans import Sentence, Span, candidate_spans, split_sentences

__all__ = [
    "Candidate",
    "ExtractiveConfig",
    "Sentence",
    "Span",
    "candidate_spans",
    "content_stems",
    "extract_answer",
    "question_type",
    "rank_candidates",
    "sentence_scores",
    "sentences_of",
    "split_sentences",
]
