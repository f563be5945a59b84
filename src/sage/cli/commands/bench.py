"""``sage bench``: every benchmark's entry point. Each benchmark family declares its
commands on its own Typer app; this module merges them into one ``sage bench`` group."""

from __future__ import annotations

import typer

from sage.cli.commands import (
    bench_agent,
    bench_dataflow,
    bench_gateway,
    bench_serving,
    bench_studio,
)

app = typer.Typer(help="Run benchmarks (figures, JSON results, plots).", no_args_is_help=True)
for family in (bench_agent, bench_dataflow, bench_gateway, bench_serving, bench_studio):
    app.add_typer(family.app)
