"""The RAG job as kernel dataflows: an indexing job and a question-answering job.

Indexing:  from_batch(chunk batches) -> Embed (one request per batch) -> sink into the
           vector store service, which persists itself when the job ends.
Answering: from_batch(questions) -> Retrieve -> Generate -> sink.

Both run on any environment (``LocalEnvironment`` or ``RemoteEnvironment``); the store
is a folder, so the answering job's service loads what the indexing job wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sage.kernel import BaseEnvironment, LocalEnvironment, SinkFunction
from sage.libs.metrics import mrr, recall_at_k, token_f1
from sage.libs.text import Chunk
from sage.middleware.operators import Embed, Generate, Retrieve
from sage.middleware.services import VectorStoreService

STORE_SERVICE = "vector_store"


@dataclass
class RagConfig:
    """Knobs of the answering job (defaults: what ``sage demo`` runs)."""

    mode: str = "hybrid"
    k: int = 5
    context_k: int = 1
    max_tokens: int = 48
    retrieve: bool = True
    parallelism: int = 2


class StoreChunks(SinkFunction):
    """Sink of the indexing job: adds embedded chunks to the vector store service."""

    def __init__(self, on_batch: Callable[[int], None] | None = None) -> None:
        self.on_batch = on_batch
        self.added = 0

    def execute(self, batch: list[dict[str, Any]]) -> None:
        self.call_service(STORE_SERVICE, [c["id"] for c in batch],
                          [c["embedding"] for c in batch], [c["text"] for c in batch],
                          [c["metadata"] for c in batch], method="add")
        self.added += len(batch)
        if self.on_batch is not None:
            self.on_batch(len(batch))

    def open(self) -> None:
        self.added = 0

    def close(self) -> None:
        if self.added:  # persist now: the next job loads the store from its folder
            self.call_service(STORE_SERVICE, method="save")


class JsonlSink(SinkFunction):
    """Appends records as JSON lines to a file: a sink whose output reaches the driver
    from any runtime (Ray actors run in other processes). One file per instance."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)

    def open(self) -> None:
        import json

        self._json = json
        suffix = f".{self.ctx.index}" if self.ctx.parallelism > 1 else ""
        self._file = open(self.path + suffix, "a", encoding="utf-8")  # noqa: SIM115

    def execute(self, data: Any) -> None:
        self._file.write(self._json.dumps(data) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def index_corpus(base_url: str, chunks: Sequence[Chunk], store_path: str | Path, *,
                 batch_size: int = 32, env: BaseEnvironment | None = None,
                 on_batch: Callable[[int], None] | None = None) -> int:
    """Embed ``chunks`` through the gateway into a vector store saved at ``store_path``.
    Returns the number of chunks indexed."""
    env = env or LocalEnvironment("rag-index")
    env.register_service(STORE_SERVICE, VectorStoreService, str(store_path))
    records = [{"id": c.id, "text": c.text, "metadata": dict(c.metadata)} for c in chunks]
    batches = [records[i:i + batch_size] for i in range(0, len(records), batch_size)]
    env.from_batch(batches).map(Embed, base_url).sink(StoreChunks, on_batch)
    env.submit(autostop=True)
    return len(records)


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
                       store_path: str | Path, sink: Any,
                       config: RagConfig | None = None, sink_args: tuple[Any, ...] = ()) -> None:
    """Declare the answering job on ``env`` (call ``env.submit()`` to run it)."""
    cfg = config or RagConfig()
    stream = env.from_batch(list(questions))
    if cfg.retrieve:
        env.register_service(STORE_SERVICE, VectorStoreService, str(store_path))
        stream = stream.map(KeepContext, base_url, mode=cfg.mode, k=cfg.k,
                            context_k=cfg.context_k, parallelism=cfg.parallelism)
    stream.map(Generate, base_url, max_tokens=cfg.max_tokens,
               parallelism=cfg.parallelism).sink(sink, *sink_args)


def score_result(record: dict[str, Any], k: int = 5) -> dict[str, float]:
    """Recall@k / MRR of the retrieved documents and token F1 of the answer."""
    gold = record.get("sources") or []
    ranked = record.get("ranked_docs") or []
    return {"recall": recall_at_k(ranked, gold, k), "mrr": mrr(ranked, gold),
            "f1": token_f1(str(record.get("answer", "")), str(record.get("answer_gold", "")))}


def run_questions(base_url: str, questions: Sequence[dict[str, Any]], store_path: str | Path,
                  config: RagConfig | None = None, env: BaseEnvironment | None = None,
                  on_result: Callable[[dict[str, Any]], None] | None = None,
                  ) -> list[dict[str, Any]]:
    """Answer every question; returns records in question order, each with ``answer``,
    ``retrieved``, ``ranked_docs`` and the gold ``answer_gold``/``sources``.

    ``on_result`` is called as each record arrives (local environments only; on other
    runtimes the records travel back through a JSON-lines file)."""
    import json
    import tempfile

    env = env or LocalEnvironment("rag-answer")
    rows = [{"id": q["id"], "question": q["question"], "answer_gold": q.get("answer", ""),
             "sources": list(q.get("sources", []))} for q in questions]
    results: list[dict[str, Any]] = []
    if isinstance(env, LocalEnvironment):
        def collect(record: dict[str, Any]) -> None:
            results.append(record)
            if on_result is not None:
                on_result(record)

        build_rag_pipeline(env, base_url, rows, store_path, collect, config)
        env.submit(autostop=True)
    else:
        with tempfile.TemporaryDirectory(prefix="sage-rag-") as tmp:
            out = Path(tmp) / "answers.jsonl"
            build_rag_pipeline(env, base_url, rows, store_path, JsonlSink, config, (str(out),))
            env.submit(autostop=True)
            for file in sorted(Path(tmp).glob("answers.jsonl*")):
                results.extend(json.loads(line) for line in file.read_text().splitlines())
    order = {r["id"]: i for i, r in enumerate(rows)}
    return sorted(results, key=lambda r: order[r["id"]])
