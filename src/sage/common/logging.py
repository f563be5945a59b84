"""One logging setup for every SAGE process: rich output on a terminal, plain otherwise."""

from __future__ import annotations

import logging
import sys

_CONFIGURED = False


def configure_logging(level: str | int = "INFO") -> None:
    """Install SAGE's handler on the ``sage`` logger once per process."""
    global _CONFIGURED
    logger = logging.getLogger("sage")
    logger.setLevel(level)
    if _CONFIGURED:
        return
    if sys.stderr.isatty():
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(show_path=False, rich_tracebacks=True)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    logger.addHandler(handler)
    logger.propagate = False
    _CONFIGURED = True


def get_logger(name: str) -> logging.Logger:
    """A child of the ``sage`` logger (``name`` without the prefix is fine)."""
    return logging.getLogger(name if name.startswith("sage") else f"sage.{name}")
