"""Extractive short answers: rank candidate spans of the retrieved passages.

A span scores by (1) how well its sentence matches the question (content-word overlap,
plus embedding cosine when the caller has vectors), (2) how close it sits to the
question's words in that sentence, and (3) whether its kind fits the question's answer
type ("how many" -> a number, "who" -> a name, ...). No model is needed; a model can
then *pick* among the top candidates (``sage.middleware`` does that with constrained
decoding), so a better model improves the pick without changing the candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sage.libs.qa.questions import (
    PERSON,
    PLACE,
    QUANTITY,
    REASON,
    STOPWORDS,
    THING,
    YEAR,
    content_stems,
    question_type,
    stem,
)
from sage.libs.qa.spans import Sentence, Span, candidate_spans, split_sentences

# How well each span kind fits each answer type (added to the score).
TYPE_FIT: dict[str, dict[str, float]] = {
    QUANTITY: {"number": 1.0, "year": -0.5, "date": -0.5, "name": -0.5, "phrase": -0.5},
    YEAR: {"year": 1.0, "date": 0.8, "number": -0.3, "name": -0.5, "phrase": -0.5},
    PERSON: {"name": 1.0, "number": -1.0, "year": -1.0, "date": -1.0, "phrase": -0.3},
    PLACE: {"name": 1.0, "number": -1.0, "year": -1.0, "date": -1.0, "phrase": -0.2},
    REASON: {"phrase": 0.3, "name": 0.0, "number": -0.5, "year": -0.5, "date": -0.5},
    THING: {"phrase": 0.2, "name": 0.3, "number": -0.3, "year": -0.3, "date": -0.3},
}
# Words that announce an answer right after them ("called the Tidewarden",
# "because of bioluminescent algae").
CUES: dict[str, frozenset[str]] = {
    REASON: frozenset({"because", "due", "since", "thanks", "as"}),
    THING: frozenset({"called", "named", "is", "was", "as"}),
    PERSON: frozenset({"by", "keeper", "poet", "player", "navigator", "linguist"}),
}


VERB_ENDINGS = ("ed", "ing")


@dataclass
class ExtractiveConfig:
    """Weights of the span score; chosen on a development question set written for
    facts the demo's evaluated questions do not ask about."""

    lexical: float = 1.0
    passage_lexical: float = 1.0
    semantic: float = 1.0
    passage_decay: float = 0.1
    proximity: float = 0.4
    cue: float = 0.4
    length_penalty: float = 0.05
    max_words: int = 6
    verb_penalty: float = 0.5


@dataclass
class Candidate:
    text: str
    kind: str
    score: float
    sentence: str
    passage: int = 0
    parts: dict[str, float] = field(default_factory=dict)


def sentences_of(passages: Sequence[str]) -> list[Sentence]:
    """All sentences of the passages, best-ranked passage first."""
    return [s for i, p in enumerate(passages) for s in split_sentences(p, i)]


def _distance(sentence: Sentence, span: Span, question: set[str]) -> int | None:
    """1 + the content words between the span and the nearest question word."""
    tokens = sentence.tokens
    content = [i for i, t in enumerate(tokens) if t.is_word and t.lower not in STOPWORDS]
    hits = [i for i in content if stem(tokens[i].text) in question
            and not span.start <= i < span.end]
    if not hits:
        return None
    gaps = []
    for hit in hits:
        lo, hi = (hit, span.start) if hit < span.start else (span.end - 1, hit)
        gaps.append(sum(1 for i in content if lo < i < hi))
    return 1 + min(gaps)


def _cued(sentence: Sentence, span: Span, qtype: str) -> bool:
    cues = CUES.get(qtype, frozenset())
    before = [t.lower for t in sentence.tokens[max(0, span.start - 2):span.start]]
    return any(w in cues for w in before)


def sentence_scores(question: str, sentences: Sequence[Sentence],
                    similarities: Sequence[float] | None = None,
                    config: ExtractiveConfig | None = None) -> list[float]:
    """How well each sentence answers the question: word overlap (+ cosine)."""
    cfg = config or ExtractiveConfig()
    q = content_stems(question)
    passage_words: dict[int, set[str]] = {}
    for s in sentences:
        passage_words.setdefault(s.passage, set()).update(
            stem(t.text) for t in s.tokens if t.is_word)
    scores = []
    for n, s in enumerate(sentences):
        words = {stem(t.text) for t in s.tokens if t.is_word}
        score = cfg.lexical * (len(q & words) / len(q) if q else 0.0)
        score += cfg.passage_lexical * (len(q & passage_words[s.passage]) / len(q) if q else 0.0)
        if similarities is not None:
            score += cfg.semantic * float(similarities[n])
        scores.append(score - cfg.passage_decay * s.passage)
    return scores


def rank_candidates(question: str, passages: Sequence[str],
                    similarities: Sequence[float] | None = None,
                    config: ExtractiveConfig | None = None,
                    top_n: int = 8) -> list[Candidate]:
    """The best ``top_n`` distinct answer spans for ``question`` in ``passages``.

    ``similarities``: optional question-sentence cosines, one per sentence of
    :func:`sentences_of` (``passages``), e.g. from an embedding model."""
    cfg = config or ExtractiveConfig()
    sentences = sentences_of(passages)
    qtype = question_type(question)
    q = content_stems(question)
    sent_score = sentence_scores(question, sentences, similarities, cfg)
    best: dict[str, Candidate] = {}
    for n, sentence in enumerate(sentences):
        for span in candidate_spans(sentence, n, q):
            words = span.end - span.start
            if words > cfg.max_words:
                continue
            dist = _distance(sentence, span, q)
            fit = TYPE_FIT[qtype].get(span.kind, 0.0)
            if qtype == PERSON and span.kind == "name" and words == 1:
                fit -= 0.4  # people have first and last names more often than not
            if span.kind == "phrase" and words == 1 and span.text.endswith(VERB_ENDINGS):
                fit -= cfg.verb_penalty  # "opened", "nesting": a verb, not a thing
            parts = {
                "sentence": sent_score[n],
                "type": fit,
                "proximity": cfg.proximity / dist if dist else 0.0,
                "cue": cfg.cue if _cued(sentence, span, qtype) else 0.0,
                "length": -cfg.length_penalty * words,
            }
            score = sum(parts.values())
            key = span.text.lower()
            if key not in best or best[key].score < score:
                best[key] = Candidate(span.text, span.kind, score, sentence.text,
                                      sentence.passage, parts)
    ranked = sorted(best.values(), key=lambda c: -c.score)
    return ranked[:top_n]


def extract_answer(question: str, passages: Sequence[str],
                   similarities: Sequence[float] | None = None,
                   config: ExtractiveConfig | None = None) -> str:
    """The best span, or ``""`` when the passages hold no candidate."""
    ranked = rank_candidates(question, passages, similarities, config, top_n=1)
    return ranked[0].text if ranked else ""

