"""Which hardware an engine SAGE runs shares with others (``EngineSpec.device_group``).

Engines on one host's CPU cores, or on one GPU, slow each other down; a scheduler that
knows it can keep an embedding batch from taking the cores a chat needs. Engines SAGE
starts get the group discovered from where they run; a declared group is kept.
"""

from __future__ import annotations

import socket

from sage.llm.engines.spec import EngineInfo

__all__ = ["device_group", "discover_device_group", "this_host"]


def this_host() -> str:
    return socket.gethostname() or "localhost"


def device_group(host: str, device: str) -> str:
    """``host:<host>:cpu`` for CPU engines, ``host:<host>:cuda:<i>`` for a GPU one."""
    if device.startswith("cuda"):
        index = device.partition(":")[2] or "0"
        return f"host:{host}:cuda:{index}"
    return f"host:{host}:cpu"


def discover_device_group(info: EngineInfo, host: str | None = None) -> None:
    """Give ``info``'s spec the group of ``host`` (default: this machine) and its device,
    unless the spec declares one."""
    if info.spec.device_group:
        return
    group = device_group(host or this_host(), info.spec.device)
    info.spec = info.spec.model_copy(update={"device_group": group})
