"""Connecting to (or starting) the Ray cluster a job runs on."""

from __future__ import annotations

import logging

import ray


def ensure_ray(address: str | None) -> None:
    """Reuse an initialised Ray; otherwise connect to ``address`` (``"auto"`` or
    ``"ray://..."``) or, for ``None``, start a local instance sized to the machine
    (Ray detects CPUs and GPUs itself) without the dashboard."""
    if ray.is_initialized():
        return
    ray.init(
        address=address,
        ignore_reinit_error=True,
        include_dashboard=False,
        logging_level=logging.WARNING,
    )


def current_namespace() -> str:
    return str(ray.get_runtime_context().namespace)
