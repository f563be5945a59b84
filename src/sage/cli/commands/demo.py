"""``sage demo``: the main job (RAG over the shipped corpus on the embedded engines)."""

from __future__ import annotations

import contextlib

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
    studio: bool = typer.Option(False, "--studio",
                                help="Also serve SAGE Studio over the demo's gateway and print "
                                     "its URL (open it while the demo runs)."),
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
    with contextlib.ExitStack() as running:
        if studio:
            base_url = _start_studio(running, base_url)
        summary = run_demo(base_url, mode=mode, k=k, limit=limit, max_tokens=max_tokens,
                           answer=answer)
    if summary.answered < summary.questions:
        raise typer.Exit(1)


def _start_studio(running: contextlib.ExitStack, base_url: str | None) -> str:
    """The demo's gateway (started here when none is given) and a studio over it, on
    SagePorts.studio (or a free port); returns the gateway URL for the demo."""
    from rich.console import Console

    from sage.apps.rag_demo.serving import gateway
    from sage.common.config import get_settings
    from sage.common.ports import ephemeral_port, is_port_free
    from sage.studio.config import StudioConfig
    from sage.studio.server import start_in_thread

    console = Console()
    if base_url is None:
        with console.status("Starting the embedded engines and the gateway..."):
            base_url = running.enter_context(gateway(None))
    port = get_settings().ports.studio
    server = start_in_thread(StudioConfig(gateway_url=base_url),
                             port=port if is_port_free(port) else ephemeral_port())
    running.callback(server.stop)
    console.print(f"[bold]SAGE Studio[/]: {server.url}  (open it while the demo runs)")
    return base_url
