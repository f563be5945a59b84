"""The one interface the engine manager launches engines through, and the registry of
its implementations (local process, Ray actor, external URL)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sage.common.errors import EngineError
from sage.common.registry import Registry
from sage.llm.engines.backends import ENGINE_BACKENDS
from sage.llm.engines.external import probe
from sage.llm.engines.spec import EngineInfo, EngineSpec, EngineStatus


class EngineStartError(EngineError):
    """An engine process exited or never became healthy; carries its log tail."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        detail = message + (f"\n--- engine log (last lines) ---\n{log_tail}" if log_tail else "")
        super().__init__(detail)


def health_ok(url: str, api_key: str | None = None, timeout: float = 2.0) -> bool:
    """Our own engines answer ``/health`` only once the model is loaded."""
    return probe(url, api_key, timeout, paths=("/health",))


@dataclass
class LaunchContext:
    """What every launcher of one manager shares: where logs go, how a changed
    :class:`EngineInfo` is recorded, how long a start may take."""

    log_dir: Path
    save: Callable[[EngineInfo], None]
    start_timeout: float = 180.0


class Launcher(Protocol):
    """Brings engines of one kind up, watches them and brings them down.

    ``info`` arrives with its id, port and owner claimed in the registry; a launcher
    records what it learns (pid, url, log, status) on ``info`` and calls ``ctx.save``.
    """

    claims_port: bool  # whether the manager reserves a local port before ``start``

    def start(self, info: EngineInfo, *, wait: bool) -> None:
        """Bring the engine up; with ``wait``, return once it is healthy or raise."""
        ...

    def wait_healthy(self, info: EngineInfo, timeout: float | None = None) -> None:
        """Block until the engine is healthy; :class:`EngineStartError` if it cannot be."""
        ...

    def restart(self, info: EngineInfo) -> None:
        """Stop it if it still runs and bring it up again, healthy, or raise."""
        ...

    def status(self, info: EngineInfo) -> EngineStatus:
        """One health check (``sage engine list --refresh``, the monitor)."""
        ...

    def listed_status(self, info: EngineInfo) -> EngineStatus:
        """Its status for a listing, from what is cheap to see (no network)."""
        ...

    def gone(self, info: EngineInfo) -> bool:
        """Whether its process is certainly gone (for pruning dead owners' entries)."""
        ...

    def interrupt(self, info: EngineInfo) -> None:
        """Ask it to stop without waiting (so many stop in parallel)."""
        ...

    def stop(self, info: EngineInfo, timeout: float = 10.0) -> None:
        """Stop it (gracefully, then by force after ``timeout``); status STOPPED."""
        ...

    def log_tail(self, info: EngineInfo, lines: int) -> str: ...

    def forget(self, engine_id: str) -> None:
        """Drop any handle kept for ``engine_id``."""
        ...


LAUNCHERS: Registry[Callable[[LaunchContext], Launcher]] = Registry("engine launcher")


def launcher_name(spec: EngineSpec) -> str:
    """``"ray"`` for a spec with a Ray placement, else its backend's launcher."""
    return "ray" if spec.placement is not None else ENGINE_BACKENDS.get(spec.backend).launcher
