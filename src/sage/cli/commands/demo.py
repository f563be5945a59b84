"""``sage demo``: the main job (RAG over the shipped corpus on the embedded engines)."""

from __future__ import annotations

import typer


def demo(
    base_url: str = typer.Option(None, "--base-url",
                                 help="Use this running gateway instead of starting one."),
    mode: str = typer.Option("hybrid", help="Retrieval: bm25, dense or hybrid."),
    k: int = typer.Option(5, help="Documents retrieved (recall@k)."),
    limit: int = typer.Option(None, help="Answer only the first N questions."),
    max_tokens: int = typer.Option(48, help="Answer length cap (tokens)."),
    answer: str = typer.Option(
        "extractive", help="Answers: extractive (a span of the passages), choice (the chat "
        "model picks among the top spans, constrained) or free (generated text)."),
) -> None:
    """Run the RAG demo end to end on the embedded engines."""
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sage.apps.rag_demo.runner import run_demo

    if mode not in ("bm25", "dense", "hybrid"):
        raise typer.BadParameter("mode must be bm25, dense or hybrid")
    if answer not in ("extractive", "choice", "free"):
        raise typer.BadParameter("answer must be extractive, choice or free")
    summary = run_demo(base_url, mode=mode, k=k, limit=limit, max_tokens=max_tokens,
                       answer=answer)
    if summary.answered < summary.questions:
        raise typer.Exit(1)
