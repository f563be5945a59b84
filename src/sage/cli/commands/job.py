"""``sage job``: submit, list, inspect and stop jobs through the job manager."""

from __future__ import annotations

import typer

app = typer.Typer(help="Submit and manage jobs.", no_args_is_help=True)
