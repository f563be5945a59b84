"""``sage jobmanager``: run the job manager service."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run the job manager service.", no_args_is_help=True)
