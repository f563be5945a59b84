"""The main job end to end on the real engines, plus its data and helpers."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from sage.apps.rag_demo import (
    RagConfig,
    corpus_dir,
    load_corpus,
    load_questions,
    run_questions,
    score_result,
)
from sage.apps.rag_demo.dataset import data_dir
from sage.apps.rag_demo.gateway_stats import histogram_quantile, latency_buckets
from sage.apps.rag_demo.runner import run_demo
from sage.libs.text import load_documents
from sage.middleware.operators import index_chunks


def test_shipped_data_is_consistent() -> None:
    report = load_documents(corpus_dir())
    ids = {d.id for d in report.documents}
    assert 20 <= len(ids) <= 40 and report.skipped_count == 0
    questions = load_questions()
    assert 20 <= len(questions) <= 30
    assert len({q["id"] for q in questions}) == len(questions)
    for q in questions:
        assert q["answer"] and set(q["sources"]) <= ids, q["id"]
    dev = load_questions(data_dir() / "dev_questions.jsonl")
    assert len(dev) >= 30 and all(set(q["sources"]) <= ids for q in dev)
    assert not {q["question"] for q in dev} & {q["question"] for q in questions}


def test_histogram_quantile() -> None:
    buckets = [(0.1, 0.0), (1.0, 50.0), (2.0, 100.0), (float("inf"), 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(1.0)
    assert histogram_quantile(0.75, buckets) == pytest.approx(1.5)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.55)
    text = ('# TYPE sage_gateway_latency_seconds histogram\n'
            'sage_gateway_latency_seconds_bucket{kind="chat",le="1.0",policy="p",tenant="t"} 2\n'
            'sage_gateway_latency_seconds_bucket{kind="chat",le="+Inf",policy="p",tenant="t"} 4\n'
            'sage_gateway_latency_seconds_count{kind="chat",policy="p",tenant="t"} 4\n'
            'sage_gateway_latency_seconds_sum{kind="chat",policy="p",tenant="t"} 9\n')
    assert latency_buckets(text) == {"chat": [(1.0, 2.0), (float("inf"), 4.0)]}


@pytest.mark.engines
def test_rag_pipeline_end_to_end(gateway_url: str, tmp_path: Path) -> None:
    chunks = load_corpus()
    assert index_chunks(gateway_url, chunks, tmp_path / "store") == len(chunks)
    questions = load_questions()[:8]
    results = run_questions(gateway_url, questions, tmp_path / "store",
                            RagConfig(mode="hybrid", k=5, max_tokens=24))
    assert [r["id"] for r in results] == [q["id"] for q in questions]
    recall = sum(bool(set(r["ranked_docs"][:5]) & set(r["sources"])) for r in results)
    assert recall >= 7
    assert all(r["answer"].strip() for r in results)
    assert all(len(r["retrieved"]) == 3 for r in results)  # short answers read 3 passages
    assert all(r["answer_source"] == "extractive" and r["answer"] in r["answer_candidates"]
               for r in results)
    assert sum(score_result(r)["em"] for r in results) >= 4
    closed = run_questions(gateway_url, questions[:2], tmp_path / "store",
                           RagConfig(retrieve=False, max_tokens=8))
    assert all("retrieved" not in r and r["answer"] is not None for r in closed)


@pytest.mark.engines
def test_run_demo_prints_answers_and_summary(gateway_url: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(corpus_dir(), corpus)
    (corpus / "empty.md").write_text("\n")
    (corpus / "binary.txt").write_bytes(b"\x00\x01PNG\x00")
    out = io.StringIO()
    summary = run_demo(gateway_url, limit=3, corpus=corpus,
                       console=Console(file=out, width=120), max_tokens=16)
    text = out.getvalue()
    assert summary.skipped_documents == 2 and "(2 skipped)" in text  # counted, not fatal
    assert summary.documents == len(load_documents(corpus_dir()).documents)
    assert summary.questions == summary.answered == 3
    assert summary.recall_at_k > 0.5
    assert summary.answer == "extractive" and 0 <= summary.answer_em <= summary.answer_contains
    assert "exact match / contains-gold" in text
    assert "q01" in text and "answer:" in text and "SAGE RAG demo" in text
    assert "chat" in summary.latency and summary.latency["chat"]["p50"] > 0
