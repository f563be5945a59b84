"""``run_dataflow``: the orchestration behind ``sage bench dataflow`` (progress bar,
table, summary, JSON). The CLI only parses its options and calls it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sage.common.errors import ConfigError


def run_dataflow(console: Console, *, records: int, repeats: int,
                 parallelisms: tuple[int, ...], runtime: str = "local",
                 batch_size: int = 1024, shuffle: bool = True, cpu_records: int = 2400,
                 rounds: int = 100_000, address: str | None = None,
                 output: Path | None = None) -> dict[str, Any]:
    """Run the local (or, with ``runtime="ray"``, the Ray) dataflow benchmark, print its
    table and summary, write the JSON to ``output``; returns the report as a dict."""
    if runtime not in ("local", "ray"):
        raise ConfigError(f"unknown runtime {runtime!r}; use local or ray")
    if runtime == "ray":
        return _run_ray(console, records, repeats, cpu_records, rounds, address, output)
    from sage.benchmark.dataflow import run_dataflow_benchmark, scenario_count

    total = scenario_count(parallelisms, shuffle) * repeats
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarking", total=total)
        report = run_dataflow_benchmark(records, repeats, parallelisms, runtime, batch_size,
                                        shuffle, tick=lambda: progress.advance(task))
    table = Table(title=f"dataflow, N={records:,}, runtime={runtime}, median of {repeats}")
    for col in ("scenario", "parallelism", "median s", "records/s", "x plain loop"):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    for s in report.scenarios:
        table.add_row(s.name, str(s.parallelism), f"{s.median_s:.3f}",
                      f"{s.records_per_s:,.0f}", f"{s.ratio_to_plain:.2f}")
    console.print(table)
    return _finish(console, report.summary, report.to_dict(), output)


def _run_ray(console: Console, records: int, repeats: int, cpu_records: int, rounds: int,
             address: str | None, output: Path | None) -> dict[str, Any]:
    """The Ray runtime: map/filter/count records/s vs local, CPU-bound p2 vs p1."""
    from sage.benchmark.dataflow_ray import SCENARIOS, run_ray_benchmark, run_with_ray

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarking on Ray", total=SCENARIOS * repeats)
        report = run_with_ray(address, lambda: run_ray_benchmark(
            cpu_records, rounds, records, repeats, tick=lambda: progress.advance(task)))
    table = Table(title=f"Ray runtime, median of {repeats}")
    for col in ("scenario", "records", "median s", "run s (no start-up)", "records/s"):
        table.add_column(col, justify="left" if col == "scenario" else "right")
    for t in report.timings:
        table.add_row(t.name, f"{t.records:,}", f"{t.median_s:.3f}", f"{t.run_s:.3f}",
                      f"{t.records_per_s:,.0f}")
    console.print(table)
    return _finish(console, report.summary, report.to_dict(), output)


def _finish(console: Console, summary: dict[str, float], data: dict[str, Any],
            output: Path | None) -> dict[str, Any]:
    for key, value in summary.items():
        console.print(f"{key}: {value:,.2f}")
    if output is not None:
        output.write_text(json.dumps(data, indent=2))
        console.print(f"wrote {output}")
    return data
