"""``sage bench gateway``: gateway overhead, streaming rate and embedding micro-batching
(options parsed here, run by :func:`sage.benchmark.gateway.run.run_gateway`)."""

from __future__ import annotations

from pathlib import Path

import typer

from sage.common.errors import ConfigError

app = typer.Typer()  # merged into `sage bench` by sage.cli.commands.bench


@app.command("gateway")
def gateway(
    scenarios: str = typer.Option(
        "overhead,streaming,embeddings",
        "--scenarios",
        "-s",
        help="comma-separated: overhead, streaming, embeddings, soak (20 s at 10x capacity)",
    ),
    repeats: int = typer.Option(3, "--repeats", "-r", help="timed runs per scenario (median)"),
    requests: int = typer.Option(
        2000, "--requests", "-n", help="overhead: requests per throughput run"
    ),
    concurrency: int = typer.Option(16, "--concurrency", "-c", help="overhead: concurrent clients"),
    latency_requests: int = typer.Option(
        300, "--latency-requests", help="overhead: sequential requests for p50"
    ),
    stream_tokens: int = typer.Option(
        128, "--stream-tokens", help="streaming: tokens per completion"
    ),
    embed_requests: int = typer.Option(
        600, "--embed-requests", help="embeddings: single-sentence requests per run"
    ),
    embed_concurrency: int = typer.Option(
        128, "--embed-concurrency", help="embeddings: concurrent clients"
    ),
    llm_url: str | None = typer.Option(
        None, "--llm-url", help="use this running LLM engine instead of starting one"
    ),
    embedding_url: str | None = typer.Option(
        None, "--embedding-url", help="use this running embedding engine instead"
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="write JSON results here"),
) -> None:
    """Gateway vs direct: added p50 and throughput ratio on a fast fake engine; streamed
    tokens/s vs llama-cpp-python in-process; embedding throughput with hybrid
    micro-batching vs one request per call. Medians over repeats."""
    from rich.console import Console

    from sage.benchmark.gateway.run import run_gateway

    console = Console()
    try:
        run_gateway(console, scenarios, repeats=repeats, requests=requests,
                    concurrency=concurrency, latency_requests=latency_requests,
                    stream_tokens=stream_tokens, embed_requests=embed_requests,
                    embed_concurrency=embed_concurrency, llm_url=llm_url,
                    embedding_url=embedding_url, output=output)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
