"""RAG question answering: index a folder of documents (the ``Index`` operator's job),
then answer questions with a declarative pipeline (Retrieve -> Generate) through the
SAGE gateway. Answers are short spans copied from the best passage (``answer=
"extractive"``); ``"choice"`` lets the chat model pick among them, ``"free"`` generates.

    python examples/rag_qa.py                         # starts the embedded engines
    SAGE_BASE_URL=http://127.0.0.1:8888 python examples/rag_qa.py   # a running gateway
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from sage.apps.rag_demo import corpus_dir
from sage.apps.rag_demo.serving import gateway
from sage.kernel import LocalEnvironment
from sage.libs.text import chunk_documents, load_documents
from sage.middleware.operators import Generate, Retrieve, index_chunks
from sage.middleware.services import VectorStoreService

QUESTIONS = ["What is the national dish of the Marrowind Isles?",
             "How many strings does a shellharp have?",
             "Which wind stops the ferries?"]


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else corpus_dir()
    report = load_documents(folder)
    chunks = chunk_documents(report.documents, "markdown", max_words=120)
    print(f"{len(report.documents)} documents, {len(chunks)} chunks, "
          f"{report.skipped_count} skipped")
    with gateway(os.environ.get("SAGE_BASE_URL")) as url, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        index_chunks(url, chunks, store)  # itself a job: chunk batches -> Index (embed + add)

        env = LocalEnvironment("rag_qa")
        env.register_service("vector_store", VectorStoreService, str(store))
        answers: list[dict[str, Any]] = []
        (env.from_batch(QUESTIONS)
            .map(Retrieve, url, mode="hybrid", k=1)
            .map(Generate, url, answer="extractive")
            .sink(answers.append))
        env.submit()
    for record in sorted(answers, key=lambda r: QUESTIONS.index(r["question"])):
        sources = ", ".join(h["doc_id"] for h in record["retrieved"])
        print(f"Q: {record['question']}\n   sources: {sources}\n   A: {record['answer']}")


if __name__ == "__main__":
    main()
