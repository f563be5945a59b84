"""``sage bench dataflow``: throughput of the dataflow kernel vs a plain Python loop
(options parsed here, run by :func:`sage.benchmark.dataflow_run.run_dataflow`)."""

from __future__ import annotations

from pathlib import Path

import typer

from sage.common.errors import ConfigError

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

    from sage.benchmark.dataflow_run import run_dataflow

    console = Console()
    try:
        run_dataflow(console, records=records, repeats=repeats,
                     parallelisms=tuple(int(p) for p in parallelism.split(",") if p.strip()),
                     runtime=runtime, batch_size=batch_size, shuffle=shuffle,
                     cpu_records=cpu_records, rounds=rounds, address=address, output=output)
    except ConfigError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
