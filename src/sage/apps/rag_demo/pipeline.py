"""The RAG job as kernel dataflows: an indexing job and a question-answering job.

Indexing:  ``sage.middleware.operators.index_chunks``: from_batch(chunk batches) ->
           Index (one embedding request per batch, added to the vector store service,
           saved when the job ends).
Answering: from_batch(questions) -> Retrieve -> Generate (short answers by default)
           -> sink.

Both run on any environment (``LocalEnvironment`` or ``RemoteEnvironment``); the store
is a folder, so the answering job's service loads what the indexing job wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage.kernel import BaseEnvironment, DataStream, LocalEnvironment
from sage.libs.metrics import contains_answer, exact_match, mrr, recall_at_k, token_f1
from sage.middleware.operators import Generate, Retrieve
from sage.middleware.services import VectorStoreService

STORE_SERVICE = "vector_store"


@dataclass
class RagConfig:
    """Knobs of the answering job (defaults: what ``sage demo`` runs)."""

    mode: str = "hybrid"
    k: int = 5
    # Passages handed to Generate; None: 1 for free generation (a 135M model copes
    # with one passage best), 3 for short answers (the span ranking prefers the top
    # passage, and more passages hold the answer more often: recall@3 > recall@1).
    context_k: int | None = None
    max_tokens: int = 48
    retrieve: bool = True
    parallelism: int = 2
    # Generate's answer mode: "extractive" (best span of the passages, no chat call),
    # "choice" (the chat model picks among the top spans, constrained) or "free".
    answer: str = "extractive"
    # Spans the "choice" mode offers the model: 2 was best on the dev questions with
    # SmolLM2-135M (F1 0.64 vs 0.39 with 3 and 0.22 with 5); raise it for a bigger model.
    candidates: int = 2

    @property
    def passages(self) -> int:
        if self.context_k is not None:
            return self.context_k
        return 1 if self.answer == "free" else 3


class KeepContext(Retrieve):
    """``Retrieve`` that keeps only the ``context_k`` best distinct documents' chunks for
    the prompt, but records the full ranking of document ids for evaluation."""

    def __init__(self, *args: Any, context_k: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context_k = context_k

    def execute(self, data: Any) -> dict[str, Any]:
        record = super().execute(data)
        hits = record[self.out_field]
        record["ranked_docs"] = list(dict.fromkeys(h["doc_id"] for h in hits))
        record[self.out_field] = hits[: self.context_k]
        return record


def build_rag_pipeline(env: BaseEnvironment, base_url: str, questions: Sequence[dict[str, Any]],
                       store_path: str | Path, sink: Any = None,
                       config: RagConfig | None = None, sink_args: tuple[Any, ...] = (),
                       ) -> DataStream[dict[str, Any]]:
    """Declare the answering job on ``env`` (call ``env.submit()`` to run it); returns
    the stream of answered records (also fed to ``sink`` when one is given)."""
    cfg = config or RagConfig()
    stream = env.from_batch(list(questions))
    if cfg.retrieve:
        env.register_service(STORE_SERVICE, VectorStoreService, str(store_path))
        stream = stream.map(KeepContext, base_url, mode=cfg.mode, k=cfg.k,
                            context_k=cfg.passages, parallelism=cfg.parallelism)
    answers = stream.map(Generate, base_url, max_tokens=cfg.max_tokens, answer=cfg.answer,
                         candidates=cfg.candidates, parallelism=cfg.parallelism)
    if sink is not None:
        answers.sink(sink, *sink_args)
    return answers


def score_result(record: dict[str, Any], k: int = 5) -> dict[str, float]:
    """Recall@k / MRR of the retrieved documents; token F1, exact match and
    contains-gold of the answer."""
    gold = record.get("sources") or []
    ranked = record.get("ranked_docs") or []
    answer, gold_answer = str(record.get("answer", "")), str(record.get("answer_gold", ""))
    return {"recall": recall_at_k(ranked, gold, k), "mrr": mrr(ranked, gold),
            "f1": token_f1(answer, gold_answer), "em": exact_match(answer, gold_answer),
            "contains": contains_answer(answer, gold_answer)}


def run_questions(base_url: str, questions: Sequence[dict[str, Any]], store_path: str | Path,
                  config: RagConfig | None = None, env: BaseEnvironment | None = None,
                  on_result: Callable[[dict[str, Any]], None] | None = None,
                  ) -> list[dict[str, Any]]:
    """Answer every question; returns records in question order, each with ``answer``,
    ``retrieved``, ``ranked_docs`` and the gold ``answer_gold``/``sources``.

    ``on_result`` is called as each record reaches this process (``env.collect``: as it
    is produced locally, when its task finishes on Ray)."""
    env = env or LocalEnvironment("rag-answer")
    rows = [{"id": q["id"], "question": q["question"], "answer_gold": q.get("answer", ""),
             "sources": list(q.get("sources", []))} for q in questions]
    answers = build_rag_pipeline(env, base_url, rows, store_path, config=config)
    results = env.collect(answers, on_result)
    env.submit(autostop=True)
    order = {r["id"]: i for i, r in enumerate(rows)}
    return sorted(results, key=lambda r: order[r["id"]])
