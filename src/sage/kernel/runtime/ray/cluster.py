"""Connecting to (or starting) the Ray cluster a job runs on."""

from __future__ import annotations

import logging
import os

import ray


def resolve_address(address: str | None) -> str:
    """What ``ray.init`` should get for a ``RemoteEnvironment`` address.

    ``None`` means "a local Ray sized to this machine": ``"local"``, so a cluster left
    running by ``ray start`` on the machine is not joined by accident (use ``"auto"``
    for that). The one exception is ``RAY_ADDRESS``, which Ray sets for a script that
    runs *inside* a cluster (a job submitted through the job manager's Ray backend):
    such a script must use the cluster it was sent to.
    """
    if address:
        return address
    return os.environ.get("RAY_ADDRESS") or "local"


def ensure_ray(address: str | None) -> None:
    """Reuse an initialised Ray; otherwise connect to ``address`` (``"auto"`` or
    ``"ray://..."``) or, for ``None``, start a local instance sized to the machine
    (Ray detects CPUs and GPUs itself: nothing is forced to 0) without the dashboard."""
    if ray.is_initialized():
        return
    ray.init(
        address=resolve_address(address),
        ignore_reinit_error=True,
        include_dashboard=False,
        logging_level=logging.WARNING,
    )


def current_namespace() -> str:
    return str(ray.get_runtime_context().namespace)
