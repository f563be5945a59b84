"""What the launchers of engines SAGE runs share: wait until healthy, restart."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from sage.common.errors import SageError
from sage.common.logging import get_logger
from sage.llm.engines.spec import EngineInfo, EngineStatus
from sage.llm.launchers.base import EngineStartError, LaunchContext, health_ok

log = get_logger("sage.llm.engine_manager")


class ManagedLauncher(ABC):
    """A launcher whose engines are processes it starts (here or on a Ray node)."""

    claims_port = True

    def __init__(self, ctx: LaunchContext) -> None:
        self.ctx = ctx

    @abstractmethod
    def launch(self, info: EngineInfo) -> None:
        """Start the process; record its pid, url and log on ``info`` (status STARTING)."""

    @abstractmethod
    def exit_code(self, info: EngineInfo) -> str | None:
        """``None`` while the engine process runs; else its exit code ("?": unknown)."""

    @abstractmethod
    def where(self, info: EngineInfo) -> str:
        """Where its log is, for messages."""

    @abstractmethod
    def log_tail(self, info: EngineInfo, lines: int) -> str: ...

    @abstractmethod
    def stop(self, info: EngineInfo, timeout: float = 10.0) -> None: ...

    def start(self, info: EngineInfo, *, wait: bool) -> None:
        self.launch(info)
        if wait:
            self.wait_healthy(info)

    def wait_healthy(self, info: EngineInfo, timeout: float | None = None) -> None:
        limit = timeout or self.ctx.start_timeout
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            code = self.exit_code(info)
            if code is not None:
                info.status = EngineStatus.DEAD
                self.ctx.save(info)
                raise EngineStartError(
                    f"engine {info.id} ({info.spec.backend}, {info.spec.model}) exited with code "
                    f"{code} while starting; log: {self.where(info)}",
                    self.log_tail(info, 40),
                )
            if health_ok(info.url, info.spec.api_key, timeout=1.0):
                info.status = EngineStatus.HEALTHY
                self.ctx.save(info)
                log.info("engine %s healthy at %s", info.id, info.url)
                return
            time.sleep(0.1)
        raise EngineStartError(
            f"engine {info.id} did not become healthy at {info.url} within "
            f"{limit:.0f}s; log: {self.where(info)}",
            self.log_tail(info, 40),
        )

    def restart(self, info: EngineInfo) -> None:
        self.stop(info)
        info.restarts += 1
        log.warning("restarting engine %s (restart #%d)", info.id, info.restarts)
        try:
            self.launch(info)
            self.wait_healthy(info)
        except SageError as exc:
            self.stop(info)
            info.status = EngineStatus.DEAD
            self.ctx.save(info)
            if isinstance(exc, EngineStartError):
                raise
            # A Ray placement that failed (cluster gone, resources held elsewhere).
            raise EngineStartError(f"engine {info.id} could not be placed again: {exc}") from exc
