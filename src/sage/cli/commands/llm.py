"""``sage llm``: serve engines and the gateway in one command."""

from __future__ import annotations

import typer

app = typer.Typer(help="Serve LLM and embedding engines behind the gateway.", no_args_is_help=True)
