"""Reproducible baseline on the shipped question set.

    python -m sage.apps.rag_demo.evaluate [--base-url URL] [--k 5] [--json out.json]
                                          [--questions dev] [--answers extractive,free]

Retrieval recall@k and MRR for BM25, dense and hybrid (no generation), then answer
token F1 / exact match / contains-gold with hybrid retrieval for each answer mode of
``Generate`` (``extractive``, ``choice``, ``free``) and without retrieval (closed
book), all through the same kernel pipeline and gateway as ``sage demo``. Greedy
decoding, so repeated runs give the same answers. ``--questions dev`` scores the
development set (other facts of the same corpus) the short-answer rules were tuned on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sage.apps.rag_demo.dataset import data_dir, load_corpus, load_questions
from sage.apps.rag_demo.pipeline import RagConfig, run_questions
from sage.apps.rag_demo.serving import gateway
from sage.kernel import LocalEnvironment
from sage.libs.metrics import contains_answer, exact_match, mrr, recall_at_k, token_f1
from sage.middleware.operators import ANSWER_MODES, index_chunks
from sage.middleware.services import VectorStoreService

QUESTION_SETS = {"shipped": "questions.jsonl", "dev": "dev_questions.jsonl"}


def retrieval_scores(base_url: str, store: Path, questions: list[dict[str, Any]], k: int,
                     mode: str) -> dict[str, float]:
    """Mean recall@k and MRR of one retrieval mode (a Retrieve-only pipeline)."""
    from sage.apps.rag_demo.pipeline import STORE_SERVICE, KeepContext

    env = LocalEnvironment(f"eval-{mode}")
    env.register_service(STORE_SERVICE, VectorStoreService, str(store))
    out: list[dict[str, Any]] = []
    rows = [{"id": q["id"], "question": q["question"], "sources": q["sources"]}
            for q in questions]
    env.from_batch(rows).map(KeepContext, base_url, mode=mode, k=k * 4,
                             context_k=1).sink(out.append)
    env.submit()
    return {"recall": statistics.mean(recall_at_k(r["ranked_docs"], r["sources"], k)
                                      for r in out),
            "recall@1": statistics.mean(recall_at_k(r["ranked_docs"], r["sources"], 1)
                                        for r in out),
            "mrr": statistics.mean(mrr(r["ranked_docs"], r["sources"]) for r in out)}


def answer_scores(results: list[dict[str, Any]]) -> dict[str, float]:
    def mean(metric: Any) -> float:
        return statistics.mean(metric(r["answer"], r["answer_gold"]) for r in results)

    return {"f1": mean(token_f1), "em": mean(exact_match), "contains": mean(contains_answer)}


def evaluate(base_url: str | None = None, k: int = 5, limit: int | None = None,
             answers: bool = True, question_set: str = "shipped",
             modes: tuple[str, ...] = ANSWER_MODES) -> dict[str, Any]:
    questions = load_questions(data_dir() / QUESTION_SETS[question_set])
    questions = questions[:limit] if limit else questions
    chunks = load_corpus()
    report: dict[str, Any] = {"questions": len(questions), "chunks": len(chunks), "k": k,
                              "question_set": question_set}
    with gateway(base_url) as url, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        index_chunks(url, chunks, store)
        report["retrieval"] = {mode: retrieval_scores(url, store, questions, k, mode)
                               for mode in ("bm25", "dense", "hybrid")}
        if answers:
            runs = [(f"hybrid_rag_{m}", RagConfig(mode="hybrid", k=k, answer=m))
                    for m in modes]
            runs.append(("no_retrieval", RagConfig(retrieve=False, answer="free")))
            report["answers"] = {name: answer_scores(run_questions(url, questions, store, cfg))
                                 for name, cfg in runs}
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=None, help="a running gateway (default: start one)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-answers", action="store_true", help="retrieval only")
    parser.add_argument("--questions", choices=sorted(QUESTION_SETS), default="shipped")
    parser.add_argument("--answers", default=",".join(ANSWER_MODES),
                        help="comma-separated answer modes to score")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    modes = tuple(m for m in args.answers.split(",") if m)
    unknown = set(modes) - set(ANSWER_MODES)
    if unknown:
        parser.error(f"unknown answer modes {sorted(unknown)}; choose from {ANSWER_MODES}")
    report = evaluate(args.base_url, args.k, args.limit, not args.no_answers,
                      args.questions, modes)
    print(f"questions: {report['questions']}, chunks: {report['chunks']}")
    for mode, s in report["retrieval"].items():
        print(f"retrieval {mode:7s} recall@{args.k} {s['recall']:.3f}  "
              f"recall@1 {s['recall@1']:.3f}  MRR {s['mrr']:.3f}")
    for name, s in report.get("answers", {}).items():
        print(f"answers   {name:22s} token F1 {s['f1']:.3f}  EM {s['em']:.3f}  "
              f"contains-gold {s['contains']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
