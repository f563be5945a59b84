"""The demo's data, shipped as package data: a corpus of short documents about the
(fictional) Marrowind Isles and a question file with gold sources and answers.

A fictional domain on purpose: the model cannot know the answers, so the gap between
answering with and without retrieval measures the pipeline, not the model's memory.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from sage.libs.text import Chunk, chunk_documents, load_documents


def data_dir() -> Path:
    return Path(str(resources.files("sage.apps.rag_demo") / "data"))


def corpus_dir() -> Path:
    return data_dir() / "corpus"


def load_questions(path: str | Path | None = None) -> list[dict[str, Any]]:
    """Rows ``{id, question, answer, sources}`` (``sources``: gold document ids)."""
    file = Path(path) if path is not None else data_dir() / "questions.jsonl"
    rows = []
    for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        missing = {"id", "question", "answer", "sources"} - set(row)
        if missing:
            raise ValueError(f"{file}:{n}: missing {sorted(missing)}")
        rows.append(row)
    return rows


def load_corpus(path: str | Path | None = None, max_words: int = 120) -> list[Chunk]:
    """The corpus, loaded and chunked (markdown-aware)."""
    report = load_documents(path if path is not None else corpus_dir())
    return chunk_documents(report.documents, "markdown", max_words=max_words)
