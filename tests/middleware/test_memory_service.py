"""Agent memory: short-term window, recency-weighted long-term recall, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from sage.middleware.services import MemoryService


class BagOfWords:
    """A deterministic stand-in embedder: counts of a fixed vocabulary."""

    VOCAB = ["coffee", "tea", "cat", "dog", "sea", "salt"]

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return [[float(t.lower().count(w)) for w in self.VOCAB] for t in texts]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_window_keeps_last_turns_in_order() -> None:
    memory = MemoryService(embedder=BagOfWords(), window=3)
    for i in range(5):
        memory.append("s1", "user" if i % 2 == 0 else "assistant", f"turn {i}")
    memory.append("s2", "user", "other session")
    assert [m["content"] for m in memory.window("s1")] == ["turn 2", "turn 3", "turn 4"]
    assert memory.window("s1", 1) == [{"role": "user", "content": "turn 4"}]
    assert memory.count("s1") == {"turns": 5, "memories": 0}


def test_recall_by_similarity_and_recency() -> None:
    clock = Clock()
    memory = MemoryService(embedder=BagOfWords(), half_life=3600, recency_weight=0.5,
                           clock=clock)
    memory.remember("u", "likes coffee", ts=clock.now - 10 * 3600)  # old
    memory.remember("u", "has a cat")
    memory.remember("u", "likes coffee with salt")  # recent, same topic
    memory.remember("other", "coffee coffee")
    hits = memory.recall("u", "coffee", k=2)
    assert [h["text"] for h in hits] == ["likes coffee with salt", "likes coffee"]
    assert hits[0]["age_s"] == 0 and hits[1]["age_s"] == pytest.approx(36000)
    # without recency weighting the exact match wins
    plain = MemoryService(embedder=BagOfWords(), recency_weight=0.0, clock=clock)
    plain.remember("u", "likes coffee", ts=clock.now - 10 * 3600)
    plain.remember("u", "likes coffee with salt")
    assert plain.recall("u", "coffee", k=1)[0]["text"] == "likes coffee"
    assert memory.recall("nobody", "coffee") == []


def test_persisted_in_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "mem.sqlite"
    memory = MemoryService(path, embedder=BagOfWords())
    memory.append("s", "user", "hello")
    mid = memory.remember("s", "the sea is salty", metadata={"source": "chat"})
    memory.close()
    again = MemoryService(path, embedder=BagOfWords())
    assert again.window("s") == [{"role": "user", "content": "hello"}]
    hit = again.recall("s", "sea", k=1)[0]
    assert hit["id"] == mid and hit["metadata"] == {"source": "chat"}
    assert again.forget("s", mid) == 1
    assert again.forget("s") == 1  # the remaining turn
    again.close()


def test_needs_an_embedder_for_long_term_memory() -> None:
    with pytest.raises(ValueError):
        MemoryService().remember("s", "text")
    with pytest.raises(ValueError):
        MemoryService(recency_weight=2.0)
