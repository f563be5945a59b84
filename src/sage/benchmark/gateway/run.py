"""``run_gateway``: the orchestration behind ``sage bench gateway`` (progress bar, table
against the targets, JSON). The CLI only parses its options and calls it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sage.benchmark.gateway.suite import SCENARIOS, run_gateway_benchmark, step_count
from sage.common.errors import ConfigError


def run_gateway(console: Console, scenarios: str, *, repeats: int, requests: int,
                concurrency: int, latency_requests: int, stream_tokens: int,
                embed_requests: int, embed_concurrency: int, llm_url: str | None,
                embedding_url: str | None, output: Path | None) -> dict[str, Any]:
    """Run the chosen scenarios (comma-separated), print the table, write the JSON to
    ``output``; returns the report as a dict. Unknown scenarios are a ConfigError."""
    chosen = tuple(s.strip() for s in scenarios.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise ConfigError(f"unknown scenario(s) {unknown}; choose from {SCENARIOS}")
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
    return report.to_dict()
