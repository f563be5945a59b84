"""The RAG main job (``sage demo``): index the shipped Marrowind Isles corpus, answer the
question file with a kernel pipeline over the gateway, and report quality and latency.

``python -m sage.apps.rag_demo.evaluate`` reports the retrieval/answer baseline.
"""

from sage.apps.rag_demo.dataset import corpus_dir, load_corpus, load_questions
from sage.apps.rag_demo.pipeline import (
    RagConfig,
    build_rag_pipeline,
    run_questions,
    score_result,
)

__all__ = [
    "RagConfig",
    "build_rag_pipeline",
    "corpus_dir",
    "load_corpus",
    "load_questions",
    "run_questions",
    "score_result",
]
