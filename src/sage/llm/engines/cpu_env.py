"""The environment engines run in on shared CPUs (a leaf module: servers, the launcher
and the manager all read it, so it imports nothing of theirs).

OpenMP's default spin-waiting collapses torch and ggml throughput 10-40x when the cores
are shared (2 threads on 2 busy cores: ~3 sent/s instead of ~75), so engines wait
passively. The price is paid on an idle machine: SmolLM2 decodes at ~37 tok/s passive vs
~118 spinning alone, but at 42-47 vs 31-33 beside one busy core (the gateway, a
pipeline). The caller's own setting wins: OMP_WAIT_POLICY=ACTIVE on a dedicated box.
"""

from __future__ import annotations

import os

SHARED_CPU_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    return {**SHARED_CPU_ENV, **os.environ, **extra}


def remote_environment(extra: dict[str, str]) -> dict[str, str]:
    """What an engine on another node needs on top of that node's own environment: the
    shared-CPU defaults (this process's setting wins, as locally) and ``extra``."""
    shared = {key: os.environ.get(key, value) for key, value in SHARED_CPU_ENV.items()}
    return {**shared, **extra}


def use_shared_cpu_env() -> None:
    """Apply :data:`SHARED_CPU_ENV` to this process (unless set): call it before torch or
    llama.cpp load, as OpenMP reads it once, when its library loads."""
    for key, value in SHARED_CPU_ENV.items():
        os.environ.setdefault(key, value)
