"""Answer candidates: short spans copied from a passage's sentences.

A span is a quantity ("about 12,000 tonnes"), a year or date, a capitalised name
("Kesh Mint", "University of Port Sela") or a noun-phrase-like run of content words
("smoked silverfin", "ash of burnt kelp"). Spans keep the passage's exact characters,
so an answer is always a copy of the source, never a paraphrase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sage.libs.qa.questions import STOPWORDS, stem, words

NUMBER_WORDS = words("""
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
hundred dozen dozens
""")
MULTIPLIERS = frozenset({"hundred", "thousand", "million", "billion", "trillion"})
HEDGES = frozenset({"about", "around", "nearly", "almost", "over", "roughly",
                    "approximately", "some", "under"})
DATE_WORDS = words("""january february march april may june july august september october
november december monday tuesday wednesday thursday friday saturday sunday""")
_CONNECTORS = frozenset({"of", "de", "von", "van"})

_TOKEN = re.compile(r"\d+(?:st|nd|rd|th)\b|\d[\d,.]*\d|\d|[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]|\S")
_HEADING = re.compile(r"^([^.:\n]{1,80}): ")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(A-Z0-9])|\n+")
_YEAR = re.compile(r"^1[0-9]{3}$|^20[0-9]{2}$")


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return self.text.lower()

    @property
    def is_word(self) -> bool:
        return self.text[0].isalnum()


@dataclass(frozen=True)
class Sentence:
    text: str
    tokens: tuple[Token, ...]
    passage: int = 0
    heading: bool = False  # a chunk's heading path: scored, never answered from


@dataclass(frozen=True)
class Span:
    """Tokens ``[start, end)`` of sentence ``sentence``; ``kind`` is ``number``,
    ``year``, ``date``, ``name`` or ``phrase``."""

    text: str
    kind: str
    sentence: int
    start: int
    end: int


def _sentence(text: str, passage: int, heading: bool = False) -> Sentence:
    tokens = tuple(Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text))
    return Sentence(text, tokens, passage, heading)


def split_sentences(text: str, passage: int = 0) -> list[Sentence]:
    """Sentences of a passage; a chunk's ``Heading > Path: `` prefix is its own."""
    out = []
    heading = _HEADING.match(text)
    if heading:
        out.append(_sentence(heading.group(1), passage, heading=True))
        text = text[heading.end():]
    for part in _SENTENCE_END.split(text):
        part = part.strip()
        if part:
            out.append(_sentence(part, passage))
    return out


def is_number(token: Token) -> bool:
    return token.text[0].isdigit() or token.lower in NUMBER_WORDS


def _is_content(token: Token) -> bool:
    return token.is_word and token.lower not in STOPWORDS


def _span(sentence: Sentence, index: int, start: int, end: int, kind: str) -> Span:
    text = sentence.text[sentence.tokens[start].start:sentence.tokens[end - 1].end]
    return Span(text, kind, index, start, end)


def _numbers(sentence: Sentence, index: int, question: set[str]) -> list[Span]:
    tokens, spans = sentence.tokens, []
    i = 0
    while i < len(tokens):
        if not is_number(tokens[i]):
            i += 1
            continue
        start, end = i, i + 1
        if start > 0 and tokens[start - 1].lower in HEDGES:
            start -= 1
        while end < len(tokens) and tokens[end].lower in MULTIPLIERS:
            end += 1
        if _YEAR.match(tokens[i].text) and end == i + 1:
            spans.append(_span(sentence, index, i, end, "year"))
            i = end
            continue
        unit = end < len(tokens) and _is_content(tokens[end]) and not is_number(tokens[end])
        if unit and tokens[end].text[0].islower() and stem(tokens[end].text) not in question:
            end += 1
        spans.append(_span(sentence, index, start, end, "number"))
        i = end
    return spans


def _dates(sentence: Sentence, index: int) -> list[Span]:
    tokens, spans = sentence.tokens, []
    for i, tok in enumerate(tokens):
        if tok.lower in DATE_WORDS and tok.text[0].isupper():
            start = i
            if i >= 2 and tokens[i - 1].lower == "of" and tokens[i - 2].text[0].isdigit():
                start = i - 2
            spans.append(_span(sentence, index, start, i + 1, "date"))
    return spans


def _names(sentence: Sentence, index: int) -> list[Span]:
    tokens, spans = sentence.tokens, []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not (tok.text[0].isupper() and tok.lower not in STOPWORDS):
            i += 1
            continue
        end = i + 1
        while end < len(tokens):
            nxt = tokens[end]
            if nxt.text[0].isupper() and nxt.lower not in STOPWORDS:
                end += 1
            elif (nxt.lower in _CONNECTORS and end + 1 < len(tokens)
                  and tokens[end + 1].text[0].isupper()):
                end += 2
            else:
                break
        if i > 0 or end - i > 1:  # a lone sentence-initial capital is not a name
            spans.append(_span(sentence, index, i, end, "name"))
        i = end
    return spans


def _phrases(sentence: Sentence, index: int, question: set[str]) -> list[Span]:
    """Maximal runs of content words that the question does not contain ("of" may join
    two runs: "ash of burnt kelp")."""
    tokens, spans = sentence.tokens, []

    def fresh(t: Token) -> bool:
        return _is_content(t) and not is_number(t) and stem(t.text) not in question

    i = 0
    while i < len(tokens):
        if not fresh(tokens[i]):
            i += 1
            continue
        end = i + 1
        while end < len(tokens):
            if fresh(tokens[end]):
                end += 1
            elif (tokens[end].lower == "of" and end + 1 < len(tokens)
                  and fresh(tokens[end + 1])):
                end += 2
            else:
                break
        spans.append(_span(sentence, index, i, end, "phrase"))
        i = end
    return spans


def candidate_spans(sentence: Sentence, index: int, question: set[str]) -> list[Span]:
    """Every candidate of every kind in one sentence, minus spans made only of
    question words (an answer tells something the question did not)."""
    if sentence.heading:
        return []
    found = (_numbers(sentence, index, question) + _dates(sentence, index)
             + _names(sentence, index) + _phrases(sentence, index, question))
    seen: set[tuple[str, int, int]] = set()
    out = []
    for span in found:
        content = [t for t in sentence.tokens[span.start:span.end] if _is_content(t)
                   or is_number(t)]
        if span.kind in ("year", "date"):
            content = list(sentence.tokens[span.start:span.end])
        if not content or all(stem(t.text) in question for t in content):
            continue
        key = (span.kind, span.start, span.end)
        if key not in seen:
            seen.add(key)
            out.append(span)
    return out
