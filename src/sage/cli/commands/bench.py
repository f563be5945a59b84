"""``sage bench``: every benchmark's entry point. Each benchmark family registers its
commands on :data:`app` from its own module, imported at the bottom."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run benchmarks (figures, JSON results, plots).", no_args_is_help=True)

from sage.cli.commands import bench_agent, bench_dataflow, bench_gateway, bench_serving  # noqa: E402,F401
