"""Small text helpers shared by the strategies (tokens, cosine, name matching)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import numpy as np

from sage.libs.agents.tools import Tool
from sage.libs.retrieval import cosine_matrix

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "for",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "into",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "my",
        "me",
        "i",
        "you",
        "your",
        "we",
        "our",
        "please",
        "can",
        "could",
        "would",
        "will",
        "should",
        "do",
        "does",
        "how",
        "what",
        "which",
    ]
)


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def cosines(query: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """Cosine similarity of ``query`` with each of ``vectors`` (0 for zero vectors)."""
    if not len(vectors):
        return []
    return [float(x) for x in cosine_matrix(np.asarray(query), np.asarray(vectors))[0]]


def match_tool(answer: str, tools: Sequence[Tool], cutoff: float = 0.75) -> Tool | None:
    """The tool an LLM meant by ``answer``: exact id/name, then case-insensitive, then a
    close spelling (small models mangle names)."""
    text = answer.strip().strip("`'\" .,:;()[]{}")
    if not text:
        return None
    for tool in tools:
        if text in (tool.id, tool.name):
            return tool
    low = text.lower()
    for tool in tools:
        if low in (tool.id.lower(), tool.name.lower()):
            return tool
    names = {t.name.lower(): t for t in tools}
    close = difflib.get_close_matches(low, list(names), n=1, cutoff=cutoff)
    return names[close[0]] if close else None


def find_tool_mention(text: str, tools: Sequence[Tool]) -> Tool | None:
    """The first tool whose name appears verbatim in free text (longest name wins ties)."""
    low = text.lower()
    best: tuple[int, int, Tool] | None = None
    for tool in tools:
        pos = low.find(tool.name.lower())
        if pos >= 0:
            key = (pos, -len(tool.name))
            if best is None or key < best[:2]:
                best = (key[0], key[1], tool)
    return best[2] if best else None


def tool_menu(tools: Sequence[Tool], width: int = 110) -> str:
    """Compact tool list for prompts: ``- name: description``."""
    lines = []
    for t in tools:
        desc = t.description if len(t.description) <= width else t.description[: width - 3] + "..."
        lines.append(f"- {t.name}: {desc}")
    return "\n".join(lines)
