"""L6 - SAGE Studio: a web UI (``sage studio start``, port 5173) over the gateway, the
job manager and the benchmark results. ``create_app`` is the FastAPI app; nothing
imports this package."""

from sage.studio.app import create_app
from sage.studio.config import StudioConfig

__all__ = ["StudioConfig", "create_app"]
