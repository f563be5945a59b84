"""Chunkers: fixed windows with overlap, sentence packing, markdown sections."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sage.libs.text import (
    Document,
    chunk_documents,
    chunk_fixed,
    chunk_markdown,
    chunk_sentences,
    split_sentences,
)


def test_fixed_windows_overlap() -> None:
    words = [f"w{i}" for i in range(25)]
    chunks = chunk_fixed(" ".join(words), size=10, overlap=3)
    assert chunks[0].split() == words[:10]
    assert chunks[1].split()[:3] == words[7:10]
    assert chunks[-1].split()[-1] == "w24"
    assert chunk_fixed("", 10, 2) == []
    with pytest.raises(ValueError):
        chunk_fixed("a b", 5, 5)


@settings(deadline=None)  # a shared 2-core box stalls now and then: check behaviour, not speed
@given(st.lists(st.text(alphabet="abc", min_size=1, max_size=4), max_size=60),
       st.integers(1, 12), st.integers(0, 11))
def test_fixed_covers_every_word_in_order(words: list[str], size: int, overlap: int) -> None:
    if overlap >= size:
        return
    chunks = chunk_fixed(" ".join(words), size, overlap)
    assert all(len(c.split()) <= size for c in chunks)
    step = size - overlap
    rebuilt = [w for i, c in enumerate(chunks) for w in (c.split() if i == 0
                                                          else c.split()[size - step:])]
    assert rebuilt == words


def test_sentences_split_and_pack() -> None:
    text = "Dr. Quist wrote poems. She was born in 1831! Was she a teacher? Yes.\n\nNew para"
    assert split_sentences(text) == ["Dr. Quist wrote poems.", "She was born in 1831!",
                                     "Was she a teacher?", "Yes.", "New para"]
    packed = chunk_sentences(text, max_words=6)
    assert all(len(c.split()) <= 6 for c in packed)
    assert " ".join(packed).split() == text.split()


def test_markdown_sections_keep_heading_path() -> None:
    text = "# Isles\n\nIntro text.\n\n## Climate\n\nMild.\n\n```\n# not a heading\n```\n"
    chunks = chunk_markdown(text, max_words=50)
    assert chunks[0] == "Isles: Intro text."
    assert chunks[1].startswith("Isles > Climate: Mild.")
    assert "# not a heading" in chunks[1]


def test_chunk_documents_ids_and_metadata() -> None:
    docs = [Document("a", "# A\n\nOne. Two.", {"format": "md"}),
            Document("b", "Plain. Text.", {"format": "txt"})]
    chunks = chunk_documents(docs, "markdown", max_words=50)
    assert [c.id for c in chunks] == ["a#0", "b#0"]
    assert chunks[0].metadata["doc_id"] == "a" and chunks[0].metadata["format"] == "md"
    with pytest.raises(ValueError):
        chunk_documents(docs, "nope")
