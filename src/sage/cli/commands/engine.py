"""``sage engine``: start, stop, list and tail managed engines."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage serving engines.", no_args_is_help=True)
