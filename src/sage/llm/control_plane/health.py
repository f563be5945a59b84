"""Engine health: out of rotation when an engine fails, back in when a probe answers.

An engine that dropped a connection and then failed a probe is down: the control plane
fails what only it could serve and tells ``on_engine_down`` (the engine manager restarts
it). One that answered 5xx is only taken out of rotation, so retries go elsewhere. Either
way the monitor probes it every ``interval_s`` until it answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from sage.common.logging import get_logger
from sage.llm.control_plane.directory import EngineDirectory
from sage.llm.control_plane.engines import EngineEndpoint, normalize_url
from sage.llm.control_plane.types import Request

log = get_logger("sage.llm.control_plane")


class ControlPlaneObserver(Protocol):
    """What the control plane reports (the gateway turns it into Prometheus metrics)."""

    def dispatched(self, engine_id: str, requests: list[Request]) -> None: ...

    def engine_health(self, engine_id: str, healthy: bool) -> None: ...


class HealthMonitor:
    """Marks engines down and up, and probes the down ones back into rotation.

    ``probe`` checks one engine; ``on_down`` / ``on_up`` let the control plane react
    (fail unservable requests / schedule again); ``spawn`` runs a coroutine hook as a
    task the control plane tracks.
    """

    def __init__(
        self,
        directory: EngineDirectory,
        probe: Callable[[EngineEndpoint], Awaitable[bool]],
        *,
        interval_s: float,
        on_down: Callable[[], None],
        on_up: Callable[[], None],
        spawn: Callable[[Coroutine[Any, Any, Any]], None],
        on_engine_down: Callable[[str], Awaitable[Any] | Any] | None = None,
        observer: ControlPlaneObserver | None = None,
    ) -> None:
        self.directory = directory
        self.probe = probe
        self.interval_s = interval_s
        self.on_down = on_down
        self.on_up = on_up
        self.spawn = spawn
        self.on_engine_down = on_engine_down
        self.observer = observer
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def report(self, engine_id: str, healthy: bool) -> None:
        if self.observer:
            self.observer.engine_health(engine_id, healthy)

    def take_out(self, endpoint: EngineEndpoint) -> bool:
        """Stop dispatching to ``endpoint`` until a probe sees it answer; False if it was out."""
        if not endpoint.state.healthy:
            return False
        endpoint.state.healthy = False
        self.report(endpoint.id, False)
        return True

    def mark_unhealthy(self, engine_id: str) -> None:
        """The engine is down: fail what only it could serve, and call ``on_engine_down``."""
        endpoint = self.directory.get(engine_id)
        if endpoint is None or not self.take_out(endpoint):
            return
        self.on_down()
        if self.on_engine_down is not None:
            try:
                result = self.on_engine_down(engine_id)
                if asyncio.iscoroutine(result):
                    self.spawn(result)
            except Exception:
                log.exception("engine-down hook failed for %s", engine_id)

    def mark_healthy(self, engine_id: str, url: str | None = None) -> None:
        endpoint = self.directory.get(engine_id)
        if endpoint is None:
            return
        if url:
            endpoint.url = normalize_url(url)
        if not endpoint.state.healthy:
            endpoint.state.healthy = True
            endpoint.restarts += 1
            endpoint.state.in_flight = max(0, endpoint.state.in_flight)
            self.report(engine_id, True)
            log.info("engine %s is healthy again", engine_id)
        self.on_up()

    async def _loop(self) -> None:
        """Probe unhealthy engines until they answer again (restarts, transient faults)."""
        while True:
            await asyncio.sleep(self.interval_s)
            for endpoint in self.directory.endpoints():
                if not endpoint.state.healthy and await self.probe(endpoint):
                    self.mark_healthy(endpoint.id)
