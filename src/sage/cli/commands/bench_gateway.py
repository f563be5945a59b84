"""``sage bench gateway``: gateway overhead, streaming rate and embedding micro-batching."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer()  # merged into `sage bench` by sage.cli.commands.bench


@app.command("gateway")
def gateway(
    scenarios: str = typer.Option(
        "overhead,streaming,embeddings",
        "--scenarios",
        "-s",
        help="comma-separated: overhead, streaming, embeddings",
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
    from rich.progress import Progress
    from rich.table import Table

    from sage.benchmark.gateway.suite import SCENARIOS, run_gateway_benchmark, step_count

    console = Console()
    chosen = tuple(s.strip() for s in scenarios.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        console.print(f"[red]unknown scenario(s) {unknown}; choose from {SCENARIOS}[/red]")
        raise typer.Exit(2)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarking the gateway", total=step_count(chosen, repeats))
        report = run_gateway_benchmark(
            chosen,
            repeats=repeats,
            requests=requests,
            concurrency=concurrency,
            latency_requests=latency_requests,
            stream_tokens=stream_tokens,
            embed_requests=embed_requests,
            embed_concurrency=embed_concurrency,
            llm_url=llm_url,
            embedding_url=embedding_url,
            tick=lambda: progress.advance(task),
        )
    table = Table(title=f"gateway benchmark (median of {repeats})")
    for col in ("scenario", "metric", "value", "target"):
        table.add_column(col, justify="left" if col in ("scenario", "metric") else "right")
    res = report.results
    for client, o in res.get("overhead", {}).items():
        name = f"overhead ({client} client)"
        table.add_row(name, "direct p50 ms", f"{o['direct_p50_ms']:.2f}", "")
        table.add_row("", "gateway p50 ms", f"{o['gateway_p50_ms']:.2f}", "")
        table.add_row("", "added p50 ms", f"{o['added_p50_ms']:.2f}", "<= 2")
        table.add_row("", "direct req/s", f"{o['direct_rps']:.0f}", "")
        table.add_row("", "gateway req/s", f"{o['gateway_rps']:.0f}", "")
        table.add_row("", "throughput ratio", f"{o['throughput_ratio']:.2f}", ">= 0.5")
    if "streaming" in res:
        s = res["streaming"]
        table.add_row("streaming", "in-process tok/s", f"{s['inprocess_tokens_per_s']:.1f}", "")
        table.add_row("", "engine HTTP tok/s", f"{s['engine_http_tokens_per_s']:.1f}", "")
        table.add_row("", "gateway tok/s", f"{s['gateway_tokens_per_s']:.1f}", "")
        table.add_row("", "ratio to in-process", f"{s['ratio_to_inprocess']:.2f}", ">= 0.95")
        table.add_row("", "ratio to engine HTTP", f"{s['ratio_to_engine_http']:.2f}", "")
    if "embeddings" in res:
        e = res["embeddings"]
        table.add_row("embeddings", "batched sent/s", f"{e['batched_per_s']:.0f}", "")
        table.add_row("", "one-per-call sent/s", f"{e['unbatched_per_s']:.0f}", "")
        table.add_row("", "ratio", f"{e['ratio']:.2f}", ">= 4")
    console.print(table)
    for name, why in report.skipped.items():
        console.print(f"[yellow]skipped {name}: {why}[/yellow]")
    if output is not None:
        output.write_text(json.dumps(report.to_dict(), indent=2))
        console.print(f"results written to {output}")
