"""The RAG pipeline of ``rag_qa.py`` on the Ray runtime (``RemoteEnvironment``): the
vector store service is a Ray actor, Retrieve and Generate run as actors, the answers
come back through a JSON-lines sink. Only the environment changes.

    python examples/rag_remote.py              # local Ray + embedded engines
    SAGE_BASE_URL=http://127.0.0.1:8888 python examples/rag_remote.py
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sage.apps.rag_demo import RagConfig, load_corpus, load_questions, run_questions
from sage.apps.rag_demo.serving import gateway
from sage.kernel import RemoteEnvironment
from sage.middleware.operators import index_chunks


def main() -> None:
    import ray

    questions = load_questions()[:4]
    with gateway(os.environ.get("SAGE_BASE_URL")) as url, tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        index_chunks(url, load_corpus(), store, env=RemoteEnvironment("rag-index"))
        env = RemoteEnvironment("rag-remote")
        results = run_questions(url, questions, store, RagConfig(k=5, max_tokens=32), env=env)
    if ray.is_initialized():
        ray.shutdown()
    for r in results:
        print(f"Q: {r['question']}\n   sources: {', '.join(r['ranked_docs'][:3])}\n"
              f"   A: {r['answer']}")
    hits = sum(bool(set(r["ranked_docs"][:5]) & set(r["sources"])) for r in results)
    print(f"retrieval hits@5: {hits}/{len(results)}")


if __name__ == "__main__":
    main()
