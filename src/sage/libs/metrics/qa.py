"""Answer quality: exact match, token F1 (SQuAD), contains-gold and ROUGE-L (longest
common subsequence)."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from sage.libs.metrics.classification import f1_score

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, squeeze whitespace (SQuAD v1.1)."""
    text = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _best(prediction: str, golds: str | Sequence[str], fn: object) -> float:
    options = [golds] if isinstance(golds, str) else list(golds)
    if not options:
        return 0.0
    return max(fn(prediction, g) for g in options)  # type: ignore[operator]


def _em(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1(prediction: str, gold: str) -> float:
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    return f1_score(common / len(pred), common / len(ref))


def _contains(prediction: str, gold: str) -> float:
    ref = normalize_answer(gold)
    return float(bool(ref) and f" {ref} " in f" {normalize_answer(prediction)} ")


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def _rouge_l(prediction: str, gold: str) -> float:
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    lcs = _lcs(pred, ref)
    return f1_score(lcs / len(pred), lcs / len(ref))


def exact_match(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    return _best(prediction, gold, _em)


def token_f1(prediction: str, gold: str | Sequence[str]) -> float:
    """Harmonic mean of token precision/recall against the best gold answer."""
    return _best(prediction, gold, _f1)


def contains_answer(prediction: str, gold: str | Sequence[str]) -> float:
    """1.0 when a normalised gold answer appears, as whole words, in the normalised
    prediction (lenient: rewards a right answer wrapped in a sentence)."""
    return _best(prediction, gold, _contains)


def rouge_l(prediction: str, gold: str | Sequence[str]) -> float:
    """ROUGE-L F-measure (beta = 1) on normalised tokens against the best gold answer."""
    return _best(prediction, gold, _rouge_l)
