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

# Per scenario: (metric label, result key, format, target) rows of the table.
ROWS: dict[str, list[tuple[str, str, str, str]]] = {
    "overhead": [
        ("direct p50 ms", "direct_p50_ms", ".2f", ""),
        ("gateway p50 ms", "gateway_p50_ms", ".2f", ""),
        ("added p50 ms", "added_p50_ms", ".2f", "<= 2"),
        ("direct req/s", "direct_rps", ".0f", ""),
        ("gateway req/s", "gateway_rps", ".0f", ""),
        ("throughput ratio", "throughput_ratio", ".2f", ">= 0.5"),
    ],
    "streaming": [
        ("in-process tok/s", "inprocess_tokens_per_s", ".1f", ""),
        ("engine HTTP tok/s", "engine_http_tokens_per_s", ".1f", ""),
        ("gateway tok/s", "gateway_tokens_per_s", ".1f", ""),
        ("ratio to in-process", "ratio_to_inprocess", ".2f", ">= 0.95"),
        ("ratio to engine HTTP", "ratio_to_engine_http", ".2f", ""),
    ],
    "embeddings": [
        ("batched sent/s", "batched_per_s", ".0f", ""),
        ("one-per-call sent/s", "unbatched_per_s", ".0f", ""),
        ("ratio", "ratio", ".2f", ">= 4"),
        ("engine-batching sent/s", "engine_batching_per_s", ".0f", ""),
        ("ratio to engine batching", "ratio_to_engine_batching", ".2f", ""),
        ("engine direct sent/s", "direct_per_s", ".0f", ""),
        ("batched / direct", "gateway_efficiency", ".2f", ""),
    ],
    "soak": [
        ("offered req/s (10x)", "offered_rps", ".0f", ""),
        ("sent", "sent", "d", ""),
        ("answered 200", "ok", "d", ""),
        ("refused 429", "refused", "d", ""),
        ("other statuses", "other", "d", "0"),
        ("lost (no reply)", "lost", "d", "0"),
        ("429 p99 ms", "refusal_p99_ms", ".1f", ""),
        ("gateway RSS max MB", "rss_max_mb", ".0f", ""),
        ("RSS growth MB", "rss_growth_mb", ".1f", "<= 64"),
        ("invariants broken", "violations", "d", "0"),
    ],
}


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
    sections = [(f"overhead ({client} client)", "overhead", o)
                for client, o in res.get("overhead", {}).items()]
    sections += [(name, name, res[name]) for name in ("streaming", "embeddings", "soak")
                 if name in res]  # fmt: skip
    for title, scenario, figures in sections:
        for i, (metric, key, fmt, target) in enumerate(ROWS[scenario]):
            table.add_row(title if i == 0 else "", metric, format(figures[key], fmt), target)
    console.print(table)
    for name, why in report.skipped.items():
        console.print(f"[yellow]skipped {name}: {why}[/yellow]")
    if output is not None:
        output.write_text(json.dumps(report.to_dict(), indent=2))
        console.print(f"results written to {output}")
    return report.to_dict()
