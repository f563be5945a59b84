"""Chunkers: split documents into retrieval units.

Sizes are in words (whitespace tokens): predictable for any language model's tokenizer
and close enough to the embedding model's limit (all-MiniLM: 256 word pieces, about
180 words) to size chunks by.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sage.common.errors import ConfigError
from sage.libs.text.loaders import Document

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset({"dr", "mr", "mrs", "ms", "st", "mt", "prof", "e.g", "i.e", "vs",
                            "etc", "no", "fig", "approx", "jr", "sr"})
_HEADING = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")


@dataclass
class Chunk:
    """A piece of a document; ``id`` is ``"{doc_id}#{n}"``."""

    id: str
    doc_id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


def chunk_fixed(text: str, size: int = 120, overlap: int = 20) -> list[str]:
    """Windows of ``size`` words, each sharing ``overlap`` words with the previous one."""
    if size <= 0:
        raise ConfigError("size must be positive")
    if not 0 <= overlap < size:
        raise ConfigError("overlap must be in [0, size)")
    words = text.split()
    if not words:
        return []
    step = size - overlap
    out = []
    for start in range(0, len(words), step):
        out.append(" ".join(words[start:start + size]))
        if start + size >= len(words):
            break
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences by end punctuation followed by a capital/digit (abbreviation-tolerant
    enough for prose; paragraph breaks always split)."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        pending = ""
        for piece in _SENTENCE_END.split(para):
            piece = f"{pending} {piece}".strip() if pending else piece.strip()
            last = piece.rsplit(" ", 1)[-1].rstrip(".").lower()
            if last in _ABBREVIATIONS:
                pending = piece
                continue
            pending = ""
            if piece:
                out.append(piece)
        if pending:
            out.append(pending)
    return out


def _pack(units: Iterable[str], max_words: int) -> list[str]:
    """Greedily join units (sentences) up to ``max_words``; a longer unit is windowed."""
    chunks: list[str] = []
    current: list[str] = []
    count = 0
    for unit in units:
        n = len(unit.split())
        if n > max_words:
            if current:
                chunks.append(" ".join(current))
                current, count = [], 0
            chunks.extend(chunk_fixed(unit, max_words, min(max_words // 5, max_words - 1)))
            continue
        if count + n > max_words and current:
            chunks.append(" ".join(current))
            current, count = [], 0
        current.append(unit)
        count += n
    if current:
        chunks.append(" ".join(current))
    return chunks


def chunk_sentences(text: str, max_words: int = 120) -> list[str]:
    """Whole sentences packed into chunks of at most ``max_words`` words."""
    if max_words <= 0:
        raise ConfigError("max_words must be positive")
    return _pack(split_sentences(text), max_words)


def chunk_markdown(text: str, max_words: int = 120) -> list[str]:
    """One chunk per markdown section (split further by sentences when long), each
    prefixed with its heading path so a chunk stays meaningful on its own."""
    if max_words <= 0:
        raise ConfigError("max_words must be positive")
    sections: list[tuple[list[str], list[str]]] = []
    path: list[str] = []
    body: list[str] = []
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line)
        if match:
            if any(b.strip() for b in body):
                sections.append((list(path), body))
            body = []
            level = len(match.group(1))
            path = path[: level - 1] + [match.group(2)]
        else:
            body.append(line)
    if any(b.strip() for b in body):
        sections.append((list(path), body))
    out: list[str] = []
    for heads, lines in sections:
        prefix = " > ".join(heads)
        budget = max(max_words - len(prefix.split()), max_words // 2)
        for piece in chunk_sentences("\n".join(lines), budget):
            out.append(f"{prefix}: {piece}" if prefix else piece)
    return out


def chunk_documents(documents: Iterable[Document], strategy: str = "markdown",
                    max_words: int = 120, overlap: int = 20) -> list[Chunk]:
    """Chunks of every document with ``strategy`` ``fixed``, ``sentence`` or ``markdown``
    (markdown falls back to sentences for non-markdown documents)."""
    chunks: list[Chunk] = []
    for doc in documents:
        fmt = doc.metadata.get("format")
        if strategy == "fixed":
            pieces = chunk_fixed(doc.text, max_words, overlap)
        elif strategy == "sentence" or (strategy == "markdown" and fmt not in (None, "md",
                                                                                "markdown")):
            pieces = chunk_sentences(doc.text, max_words)
        elif strategy == "markdown":
            pieces = chunk_markdown(doc.text, max_words)
        else:
            raise ConfigError(f"unknown chunking strategy {strategy!r}")
        for n, piece in enumerate(pieces):
            meta = {**doc.metadata, "doc_id": doc.id, "chunk": n}
            chunks.append(Chunk(f"{doc.id}#{n}", doc.id, piece, meta))
    return chunks
