"""What kind of answer a question wants, and which of its words a passage must echo.

Classic factoid-QA typing (TREC-style answer types) from the question's wh-phrase: a
"how many" question wants a quantity, "when" a year or date, "who" a name, "where" a
place. Everything else is ``thing`` and falls back to noun phrases.
"""

from __future__ import annotations

import re

QUANTITY, YEAR, PERSON, PLACE, REASON, THING = (
    "quantity", "year", "person", "place", "reason", "thing")

def words(text: str) -> frozenset[str]:
    """A word set written as one whitespace-separated string."""
    return frozenset(text.split())


_TYPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhow (many|much|long|high|tall|wide|deep|far|old|big|large|heavy)\b"),
     QUANTITY),
    (re.compile(r"\b(what|which) (percentage|number|amount|size|height|length)\b"), QUANTITY),
    (re.compile(r"\bwhen\b|\b(what|which) (year|century|decade|date|day|month)\b"), YEAR),
    (re.compile(r"^\s*who\b|\bwho (is|was|were|are)\b|\bwhose\b"), PERSON),
    (re.compile(r"\bwhere\b|\b(what|which) (island|town|city|village|country|place|"
                r"region|coast|sea)\b"), PLACE),
    (re.compile(r"^\s*why\b"), REASON),
]

STOPWORDS = words("""
a an the of in on at to for by with from and or but not no as into onto over under
is are was were be been being am do does did done have has had having will would can
could shall should may might must it its it's this that these those there their they
them he she his her him we our you your i me my what which who whom whose when where
why how many much than then so such
each every some any all most more also very just only about around called named
between across after before during until within without through against among near
behind beyond up down out off again still once here if because while
""")

_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")


def question_type(question: str) -> str:
    """One of ``quantity``, ``year``, ``person``, ``place``, ``reason``, ``thing``."""
    text = question.lower()
    for pattern, kind in _TYPES:
        if pattern.search(text):
            return kind
    return THING


def stem(word: str) -> str:
    """A crude match key: lower-case, no possessive, no -ed/-ing/plural -s, first six
    letters (so "produced"/"produce", "founded"/"found", "islands"/"island" meet)."""
    word = word.lower().removesuffix("'s").removesuffix("'")
    for suffix in ("ing", "ed"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return word[:6]


def content_stems(text: str) -> set[str]:
    """Stems of the words of ``text`` that carry meaning (no stopwords)."""
    return {stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS}
