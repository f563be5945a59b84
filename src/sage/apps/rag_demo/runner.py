"""``sage demo``: start the stack, index the corpus, answer the questions, report.

Everything the user sees is printed with rich (progress bars while indexing and
answering, one panel per answer, a summary table). Returns the summary so tests and
scripts can check it.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sage.apps.rag_demo.dataset import corpus_dir, load_questions
from sage.apps.rag_demo.gateway_stats import gateway_latency
from sage.apps.rag_demo.pipeline import RagConfig, run_questions, score_result
from sage.apps.rag_demo.serving import gateway
from sage.libs.text import chunk_documents, load_documents
from sage.middleware.operators import index_chunks


@dataclass
class DemoSummary:
    questions: int = 0
    documents: int = 0
    chunks: int = 0
    skipped_documents: int = 0
    k: int = 5
    mode: str = "hybrid"
    recall_at_k: float = 0.0
    mrr: float = 0.0
    answer: str = "extractive"
    answer_f1: float = 0.0
    answer_em: float = 0.0
    answer_contains: float = 0.0
    answered: int = 0
    seconds_total: float = 0.0
    seconds_startup: float = 0.0
    seconds_index: float = 0.0
    seconds_answer: float = 0.0
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def _print_result(console: Console, record: dict[str, Any], k: int) -> None:
    scores = score_result(record, k)
    sources = ", ".join(record.get("ranked_docs", [])[:k]) or "-"
    gold = set(record.get("sources", []))
    marked = ", ".join(f"[green]{s}[/]" if s in gold else s
                       for s in record.get("ranked_docs", [])[:k]) or sources
    console.print(f"[bold cyan]{record['id']}[/] {record['question']}")
    console.print(f"    sources: {marked}")
    console.print(f"    answer:  {record.get('answer', '')!s}  "
                  f"[dim](gold: {record.get('answer_gold', '')}; F1 {scores['f1']:.2f})[/]")


def run_demo(base_url: str | None = None, *, mode: str = "hybrid", k: int = 5,
             limit: int | None = None, corpus: str | Path | None = None,
             questions_file: str | Path | None = None, console: Console | None = None,
             max_tokens: int = 48, answer: str = "extractive") -> DemoSummary:
    """The main job. ``base_url``: use a running gateway instead of starting one;
    ``answer``: Generate's answer mode (``extractive``, ``choice`` or ``free``)."""
    console = console or Console()
    summary = DemoSummary(k=k, mode=mode, answer=answer)
    started = time.perf_counter()
    questions = load_questions(questions_file)[:limit] if limit else load_questions(
        questions_file)
    report = load_documents(corpus if corpus is not None else corpus_dir())
    chunks = chunk_documents(report.documents, "markdown", max_words=120)
    summary.documents, summary.chunks = len(report.documents), len(chunks)
    summary.skipped_documents = report.skipped_count
    with console.status("Starting the embedded engines and the gateway..."):
        stack = gateway(base_url)
        url = stack.__enter__()
    try:
        summary.seconds_startup = time.perf_counter() - started
        console.print(f"[green]gateway ready[/] at {url} "
                      f"({summary.seconds_startup:.1f}s)")
        with tempfile.TemporaryDirectory(prefix="sage-demo-") as tmp:
            store = Path(tmp) / "store"
            t0 = time.perf_counter()
            with _progress(console) as progress:
                task = progress.add_task("Indexing", total=len(chunks))
                index_chunks(url, chunks, store,
                             on_batch=lambda n: progress.advance(task, n))
            summary.seconds_index = time.perf_counter() - t0
            console.print(f"indexed {len(report.documents)} documents as {len(chunks)} chunks"
                          f" ({report.skipped_count} skipped) in {summary.seconds_index:.1f}s")
            t0 = time.perf_counter()
            with _progress(console) as progress:
                task = progress.add_task("Answering", total=len(questions))

                def on_result(record: dict[str, Any]) -> None:
                    _print_result(progress.console, record, k)
                    progress.advance(task)

                results = run_questions(url, questions, store,
                                        RagConfig(mode=mode, k=k, max_tokens=max_tokens,
                                                  answer=answer),
                                        on_result=on_result)
            summary.seconds_answer = time.perf_counter() - t0
        summary.results = results
        summary.questions = len(questions)
        summary.answered = sum(1 for r in results if str(r.get("answer", "")).strip())
        scores = [score_result(r, k) for r in results]
        if scores:
            summary.recall_at_k = statistics.mean(s["recall"] for s in scores)
            summary.mrr = statistics.mean(s["mrr"] for s in scores)
            summary.answer_f1 = statistics.mean(s["f1"] for s in scores)
            summary.answer_em = statistics.mean(s["em"] for s in scores)
            summary.answer_contains = statistics.mean(s["contains"] for s in scores)
        summary.latency = gateway_latency(url)
    finally:
        with console.status("Stopping the gateway and engines..."):
            stack.__exit__(None, None, None)
    summary.seconds_total = time.perf_counter() - started
    print_summary(console, summary)
    return summary


def print_summary(console: Console, summary: DemoSummary) -> None:
    table = Table(title="SAGE RAG demo", show_header=False)
    table.add_row("questions (answered)", f"{summary.questions} ({summary.answered})")
    table.add_row("documents / chunks", f"{summary.documents} / {summary.chunks}"
                  + (f" ({summary.skipped_documents} skipped)" if summary.skipped_documents
                     else ""))
    table.add_row(f"retrieval recall@{summary.k} ({summary.mode})", f"{summary.recall_at_k:.3f}")
    table.add_row("retrieval MRR", f"{summary.mrr:.3f}")
    table.add_row(f"answer token F1 ({summary.answer})", f"{summary.answer_f1:.3f}")
    table.add_row("answer exact match / contains-gold",
                  f"{summary.answer_em:.3f} / {summary.answer_contains:.3f}")
    for kind, stats in sorted(summary.latency.items()):
        table.add_row(f"gateway {kind} latency p50 / p99",
                      f"{stats['p50'] * 1000:.0f} ms / {stats['p99'] * 1000:.0f} ms "
                      f"({stats['count']:.0f} requests)")
    table.add_row("time: startup / index / answer",
                  f"{summary.seconds_startup:.1f}s / {summary.seconds_index:.1f}s / "
                  f"{summary.seconds_answer:.1f}s")
    table.add_row("total time", f"{summary.seconds_total:.1f}s")
    console.print(table)
