"""``sage bench`` commands for this benchmark family."""

from __future__ import annotations

from sage.cli.commands.bench import app  # noqa: F401
