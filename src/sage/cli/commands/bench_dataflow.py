"""``sage bench dataflow``: throughput of the dataflow kernel vs a plain Python loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

app = typer.Typer()  # merged into `sage bench` by sage.cli.commands.bench


@app.command("dataflow")
def dataflow(
    records: int = typer.Option(1_000_000, "--records", "-n", help="records per run"),
    repeats: int = typer.Option(5, "--repeats", "-r", help="timed runs per scenario"),
    parallelism: str = typer.Option("1,2", "--parallelism", "-p",
                                    help="comma-separated parallelisms to measure"),
    runtime: str = typer.Option("local", "--runtime", help="local or ray"),
    batch_size: int = typer.Option(1024, "--batch-size", help="micro-batch size"),
    shuffle: bool = typer.Option(True, "--shuffle/--no-shuffle",
                                 help="also measure map/filter at P behind a 1-wide source"),
    cpu_records: int = typer.Option(2400, "--cpu-records",
                                    help="ray: records of the CPU-bound scaling job"),
    rounds: int = typer.Option(100_000, "--rounds", help="ray: CPU work per record"),
    address: str | None = typer.Option(None, "--address",
                                       help="ray: cluster address (default: a local Ray)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write JSON results here"),
) -> None:
    """from_batch(range(N)).map(+1).filter(even).sink(count): records/s and the ratio of
    wall time to a plain Python loop calling the same functions (medians of repeats).
    With ``--runtime ray``: the same pipeline on Ray vs local, and a CPU-bound map at
    parallelism 1 vs 2 on Ray."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from sage.benchmark.dataflow import run_dataflow_benchmark, scenario_count

    console = Console()
    if runtime not in ("local", "ray"):
        console.print(f"[red]unknown runtime {runtime!r}; use local or ray[/red]")
        raise typer.Exit(2)
    pars = tuple(int(p) for p in parallelism.split(",") if p.strip())
    if runtime == "ray":
        _ray(console, records, repeats, cpu_records, rounds, address, output)
        return
    total = scenario_count(pars, shuffle) * repeats
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("benchmarking", total=total)
        report = run_dataflow_benchmark(records, repeats, pars, runtime, batch_size, shuffle,
                                        tick=lambda: progress.advance(task))
    table = Table(title=f"dataflow, N={records:,}, runtime={runtime}, "
                        f"median of {repeats}")
    for col in ("scenario", "parallelism", "median s", "records/s", "x plain loop"):
        table.add_column(col, justify="right" if col != "scenario" else "left")
    for s in report.scenarios:
        table.add_row(s.name, str(s.parallelism), f"{s.median_s:.3f}",
                      f"{s.records_per_s:,.0f}", f"{s.ratio_to_plain:.2f}")
    console.print(table)
    _finish(console, report.summary, report.to_dict(), output)


def _ray(console: Any, records: int, repeats: int, cpu_records: int, rounds: int,
         address: str | None, output: Path | None) -> None:
    """The Ray runtime: map/filter/count records/s vs local, CPU-bound p2 vs p1."""
    from rich.progress import Progress
    from rich.table import Table

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
    _finish(console, report.summary, report.to_dict(), output)


def _finish(console: Any, summary: dict[str, float], data: dict[str, Any],
            output: Path | None) -> None:
    for key, value in summary.items():
        console.print(f"{key}: {value:,.2f}")
    if output is not None:
        output.write_text(json.dumps(data, indent=2))
        console.print(f"wrote {output}")
