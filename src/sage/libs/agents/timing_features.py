"""Features of the ``learned`` timing classifier. Two kinds, both scale-free so weights
fitted on one data set can transfer to another:

- *is it a request?* (prototype margin, the rules' score, question form, numbers);
- *does an offered tool fit it?* (best cosine to a tool's text and to its name, word
  overlap of the message with each tool's name, parameters and description, and whether
  the message carries a value of the type a tool's parameters take).

A message can be a clear request that no offered tool fits (BFCL's irrelevance items) or
chit-chat about a tool's very topic (the synthetic negatives): only both kinds together
tell these apart."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from sage.libs.agents.features import VectorCache, cover, name_words, param_words, text_words
from sage.libs.agents.text import words
from sage.libs.agents.timing import NEGATIVE_PROTOTYPES, POSITIVE_PROTOTYPES, RulesTiming
from sage.libs.agents.tools import Tool, split_name

TIMING_FEATURES = (
    "best_tool_cosine",
    "best_name_cosine",
    "no_tools",
    "tool_name_cover",
    "param_cover",
    "tool_message_cover",
    "message_cover",
    "prototype_margin",
    "rules_call_prob",
    "question_mark",
    "wh_question",
    "has_number",
    "number_for_numeric_param",
    "name_for_string_param",
)
# Column groups: the factored model fits one classifier on each.
MATCH_COLUMNS = tuple(
    i for i, n in enumerate(TIMING_FEATURES)
    if n not in ("prototype_margin", "rules_call_prob", "question_mark", "wh_question", "has_number")
)
REQUEST_COLUMNS = tuple(i for i in range(len(TIMING_FEATURES)) if i not in MATCH_COLUMNS)
_NUMBER = re.compile(r"\d")
_WH = re.compile(r"^\W*(?:who|what|when|where|why|which|how|is|are|do|does|did|can)\b", re.I)
# A capitalised or quoted word after the first: a name, a title, a place (a value).
_NAME_VALUE = re.compile(r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z]+|['\"][^'\"]{2,}['\"]")
_NUMERIC_TYPES = {"integer", "number", "float", "int", "double", "long"}


def _param_types(tool: Tool) -> set[str]:
    props = tool.parameters.get("properties", {}) if isinstance(tool.parameters, dict) else {}
    return {str(p.get("type", "")).lower() for p in props.values() if isinstance(p, dict)}


class TimingFeatures:
    """Computes :data:`TIMING_FEATURES` for (message, offered tools)."""

    def __init__(self, vectors: VectorCache) -> None:
        self.vectors = vectors
        self.rules = RulesTiming()

    def row(self, message: str, tools: Sequence[Tool]) -> np.ndarray:
        q = self.vectors.get([message])[0]
        pos = self.vectors.get(list(POSITIVE_PROTOTYPES))
        neg = self.vectors.get(list(NEGATIVE_PROTOTYPES))
        margin = float(np.sort(pos @ q)[-3:].mean() - np.sort(neg @ q)[-3:].mean())
        msg = set(words(message))
        has_number = bool(_NUMBER.search(message))
        has_name = bool(_NAME_VALUE.search(message.strip()))
        if tools:
            cos = self.vectors.get([t.text() for t in tools]) @ q
            names = [" ".join(split_name(t.name)) for t in tools]
            name_cos = float((self.vectors.get(names) @ q).max())
            best = tools[int(np.argmax(cos))]
            types = _param_types(best)
            match = [
                float(cos.max()),
                name_cos,
                0.0,
                max(cover(name_words(t), msg) for t in tools),
                max(cover(param_words(t), msg) for t in tools),
                max(cover(msg, text_words(t)) for t in tools),
                cover(msg, frozenset().union(*(text_words(t) for t in tools))),
            ]
            values = [
                float(has_number and bool(types & _NUMERIC_TYPES)),
                float(has_name and "string" in types),
            ]
        else:
            match = [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
            values = [0.0, 0.0]
        r = self.rules.decide(message, tools)
        request = [
            margin,
            r.confidence if r.call else 1.0 - r.confidence,
            float(message.strip().endswith("?")),
            float(bool(_WH.search(message))),
            float(has_number),
        ]
        row = match + request + values
        assert len(row) == len(TIMING_FEATURES)
        return np.asarray(row)
