"""``sage bench dataflow``: throughput of the dataflow kernel vs a plain Python loop."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sage.cli.commands.bench import app


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
    output: Path | None = typer.Option(None, "--output", "-o", help="write JSON results here"),
) -> None:
    """from_batch(range(N)).map(+1).filter(even).sink(count): records/s and the ratio of
    wall time to a plain Python loop calling the same functions (medians of repeats)."""
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
        try:
            from sage.kernel import RemoteEnvironment  # noqa: F401
        except (ImportError, AttributeError) as exc:
            console.print(f"[red]Ray runtime not available yet: {exc}[/red]")
            raise typer.Exit(1) from exc
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
    for key, value in report.summary.items():
        console.print(f"{key}: {value:.2f}")
    if output is not None:
        output.write_text(json.dumps(report.to_dict(), indent=2))
        console.print(f"wrote {output}")
