"""Extractive short answers on text written for this test (not the demo's corpus)."""

from __future__ import annotations

import pytest

from sage.libs.metrics import contains_answer
from sage.libs.qa import (
    candidate_spans,
    content_stems,
    extract_answer,
    question_type,
    rank_candidates,
    split_sentences,
)

BRIDGE = ("Harbour Bridge: The Harbour Bridge was opened in 1932 by the engineer Ada Lorne. "
          "It is about 503 metres long and carries 160,000 vehicles a day. "
          "The toll booth at its south end is called the Gatehouse. "
          "The bridge is painted grey because of salt spray from the harbour.")
MARKET = "The old market sells fish and bread. It opens every Saturday at dawn."


@pytest.mark.parametrize(("question", "kind"), [
    ("How many vehicles cross it?", "quantity"), ("How long is the bridge?", "quantity"),
    ("When was it opened?", "year"), ("In which month does it close?", "year"),
    ("Who designed the bridge?", "person"), ("On which island is the market?", "place"),
    ("Why is it grey?", "reason"), ("What is the toll booth called?", "thing"),
])
def test_question_types(question: str, kind: str) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize(("question", "answer"), [
    ("How long is the Harbour Bridge?", "about 503 metres"),
    ("How many vehicles does the bridge carry each day?", "160,000"),
    ("When was the Harbour Bridge opened?", "1932"),
    ("Who opened the Harbour Bridge?", "Ada Lorne"),
    ("What is the toll booth of the bridge called?", "Gatehouse"),
    ("Why is the bridge painted grey?", "salt spray"),
])
def test_extracts_the_answer_span(question: str, answer: str) -> None:
    assert extract_answer(question, [MARKET, BRIDGE]) == answer


def test_spans_are_copies_without_question_words() -> None:
    sentences = split_sentences(BRIDGE)
    assert sentences[0].heading and sentences[0].text == "Harbour Bridge"
    assert candidate_spans(sentences[0], 0, set()) == []  # headings are never answers
    question = content_stems("How long is the Harbour Bridge?")
    texts = {s.text for s in candidate_spans(sentences[2], 2, question)}
    assert "about 503 metres" in texts and "160,000 vehicles" in texts
    assert all(t in BRIDGE for t in texts)
    assert not any("Bridge" in t for t in texts)


def test_ranking_prefers_the_first_passage_and_is_empty_without_text() -> None:
    ranked = rank_candidates("When does the market open?", [MARKET, BRIDGE], top_n=3)
    assert ranked[0].text == "Saturday" or "dawn" in ranked[0].text
    assert ranked[0].passage == 0 and len(ranked) <= 3
    assert extract_answer("Anything?", []) == ""
    similar = rank_candidates("How long is the bridge?", [BRIDGE],
                              similarities=[0.0, 0.0, 0.9, 0.0, 0.0])
    assert similar[0].text == "about 503 metres" and similar[0].parts["sentence"] > 1


def test_contains_answer() -> None:
    assert contains_answer("It is about 503 metres long.", "503 metres") == 1.0
    assert contains_answer("5030 metres", "503 metres") == 0.0
    assert contains_answer("anything", ["", "thing"]) == 0.0
