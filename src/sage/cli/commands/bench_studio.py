"""``sage bench studio``: the gateway's p50 with the studio's overview open vs closed."""

from __future__ import annotations

import json
from pathlib import Path

import typer

app = typer.Typer()  # merged into `sage bench` by sage.cli.commands.bench


@app.command("studio")
def studio(
    rate: float = typer.Option(50.0, "--rate", help="requests per second through the gateway"),
    duration: float = typer.Option(10.0, "--duration", help="seconds per phase"),
    repeats: int = typer.Option(3, "--repeats", "-r", help="open/closed pairs (median)"),
    engine_latency_ms: float = typer.Option(
        20.0, "--engine-latency-ms", help="the fake engine's service time"),
    paint_loads: int = typer.Option(
        5, "--paint-loads", help="cold overview loads in headless Chromium (0: skip)"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write JSON results here"),
) -> None:
    """Interleaved phases at a steady rate: p50/p99 with the studio's live overview
    open (one SSE subscriber) vs closed; medians over repeats and their spread."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from sage.benchmark.studio_overhead import run_studio_overhead

    console = Console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("studio open vs closed", total=2 * repeats)
        result = run_studio_overhead(rate=rate, duration_s=duration, repeats=repeats,
                                     engine_latency_ms=engine_latency_ms,
                                     paint_loads=paint_loads, tick=lambda: progress.advance(task))
    table = Table(title=f"gateway at {rate:g} req/s, studio open vs closed "
                        f"(median of {repeats})")
    for col in ("phase", "p50 ms", "p99 ms", "req/s", "studio events/s", "errors"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for p in result.phases:
        table.add_row("open" if p.studio_open else "closed", f"{p.p50_ms:.2f}",
                      f"{p.p99_ms:.2f}", f"{p.achieved_rps:.1f}",
                      "" if p.studio_events_per_s is None else f"{p.studio_events_per_s:.2f}",
                      str(p.errors))
    console.print(table)
    console.print(
        f"p50 closed {result.closed_p50_ms:.2f} ms (spread {result.closed_p50_spread_ms:.2f}), "
        f"open {result.open_p50_ms:.2f} ms (spread {result.open_p50_spread_ms:.2f}): "
        f"{result.p50_increase:+.1%} (target <= +5%); overview "
        f"{result.studio_events_per_s:.2f} updates/s (target >= 1)")
    if result.live_bytes:
        b = result.live_bytes
        console.print(f"live stream: {b['first_event'] / 1024:.1f} KiB on opening (the recent "
                      f"history), then {b['event_median']} B per update")
    if result.paint:
        p = result.paint
        console.print(
            f"overview, median of {len(result.paint_runs)} cold loads: first contentful "
            f"paint {p['first_contentful_paint_ms']:.0f} ms, first meaningful paint "
            f"{p['meaningful_ms']:.0f} ms (target < 1000), "
            f"{p['transfer_bytes'] / 1024:.0f} KiB transferred (target < 1 MiB)")
    if output is not None:
        output.write_text(json.dumps(result.to_dict(), indent=2))
        console.print(f"results written to {output}")
