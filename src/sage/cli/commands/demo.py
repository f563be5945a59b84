"""``sage demo``: the main job (RAG over the shipped corpus on the embedded engines)."""

from __future__ import annotations
