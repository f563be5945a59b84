"""``sage demo``: the main job (RAG over the shipped corpus on the embedded engines)."""

from __future__ import annotations


def demo() -> None:
    """Run the RAG demo end to end on the embedded engines."""
    raise SystemExit("sage demo is not implemented yet")
