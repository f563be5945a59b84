"""BM25 via bm25s: ranking, stemming, unknown words, empty index."""

from __future__ import annotations

from sage.libs.retrieval import BM25Index, light_stem

TEXTS = ["the lantern turtle nests on Calla beaches",
         "ferries connect the seven islands",
         "salt pans of Oruna produce flower salt",
         "the ferry line runs fourteen vessels"]


def test_ranks_the_matching_document_first() -> None:
    index = BM25Index(TEXTS, ["turtle", "ferries", "salt", "fleet"])
    assert index.search("where do turtles nest?", 2)[0][0] == "turtle"
    top = [i for i, _ in index.search("ferry vessels", 4)]
    assert top[0] == "fleet" and "ferries" in top
    assert index.search("salt", 10)[0][0] == "salt"


def test_no_match_and_empty_index() -> None:
    index = BM25Index(TEXTS)
    assert index.search("zebra quantum", 3) == []
    assert BM25Index([]).search("anything") == []
    assert len(index.scores("turtle")) == len(TEXTS)


def test_light_stem_is_consistent() -> None:
    assert light_stem(["engines", "engine", "nesting", "ferries"]) == \
        ["engine", "engine", "nest", "ferry"]


def test_stemmer_can_be_turned_off() -> None:
    texts = ["multiply numbers: plus, minus, times", "the clock shows the time"]
    stemmed = BM25Index(texts, ["calc", "clock"])
    exact = BM25Index(texts, ["calc", "clock"], stemmer=None)
    assert {i for i, _ in stemmed.search("17 times 23", 2)} == {"calc", "clock"}
    assert [i for i, _ in exact.search("17 times 23", 2)] == ["calc"]
