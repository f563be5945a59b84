"""Reproducible baseline on the shipped question set.

    python -m sage.apps.rag_demo.evaluate [--base-url URL] [--k 5] [--json out.json]

Retrieval recall@k and MRR for BM25, dense and hybrid (no generation), then answer
token F1 / exact match with hybrid retrieval and without retrieval (closed book), all
through the same kernel pipeline and gateway as ``sage demo``. Greedy decoding, so
repeated runs give the same answers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sage.apps.rag_demo.dataset import load_corpus, load_questions
from sage.apps.rag_demo.pipeline import RagConfig, index_corpus, run_questions
from sage.apps.rag_demo.serving import gateway
from sage.kernel import LocalEnvironment
from sage.libs.metrics import exact_match, mrr, recall_at_k, token_f1
from sage.middleware.services import VectorStoreService


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
    return {"f1": statistics.mean(token_f1(r["answer"], r["answer_gold"]) for r in results),
            "em": statistics.mean(exact_match(r["answer"], r["answer_gold"]) for r in results)}


def evaluate(base_url: str | None = None, k: int = 5, limit: int | None = None,
             answers: bool = True) -> dict[str, Any]:
    questions = load_questions()[:limit] if limit else load_questions()
    chunks = load_corpus()
    report: dict[str, Any] = {"questions": len(questions), "chunks": len(chunks), "k": k}
    with gateway(base_url) as url, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        index_corpus(url, chunks, store)
        report["retrieval"] = {mode: retrieval_scores(url, store, questions, k, mode)
                               for mode in ("bm25", "dense", "hybrid")}
        if answers:
            report["answers"] = {}
            for name, cfg in (("hybrid_rag", RagConfig(mode="hybrid", k=k)),
                              ("no_retrieval", RagConfig(retrieve=False))):
                report["answers"][name] = answer_scores(run_questions(url, questions, store,
                                                                      cfg))
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default=None, help="a running gateway (default: start one)")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--no-answers", action="store_true", help="retrieval only")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    report = evaluate(args.base_url, args.k, args.limit, not args.no_answers)
    print(f"questions: {report['questions']}, chunks: {report['chunks']}")
    for mode, s in report["retrieval"].items():
        print(f"retrieval {mode:7s} recall@{args.k} {s['recall']:.3f}  "
              f"recall@1 {s['recall@1']:.3f}  MRR {s['mrr']:.3f}")
    for name, s in report.get("answers", {}).items():
        print(f"answers   {name:13s} token F1 {s['f1']:.3f}  EM {s['em']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
