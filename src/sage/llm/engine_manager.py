"""Start, watch, restart and stop engines; remember them across CLI runs.

An engine is a process speaking OpenAI HTTP (see :mod:`sage.llm.engines`), or a URL of
one SAGE does not run. The manager claims an id and a port in the engine registry
(:mod:`sage.llm.engine_registry`, ``<home>/engines/registry.json``, so ``sage engine
list`` in another shell sees it) and hands the engine to its :class:`Launcher`
(:mod:`sage.llm.launchers`): a local child process, a Ray actor on the node a
:class:`~sage.llm.engines.spec.RayPlacement` picks, or an external URL. In-process
managers (``sage llm serve``, tests) tie their engines to their own life
(``--parent-pid``, ``stop_all`` on exit); the CLI starts detached engines that outlive it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

from sage.common.errors import ConfigError, EngineError
from sage.common.logging import get_logger
from sage.common.processes import process_running
from sage.llm.engine_monitor import EngineMonitor
from sage.llm.engine_registry import EngineRegistry, NullRegistry, next_engine_id
from sage.llm.engines.launch import default_backend, resolve_spec
from sage.llm.engines.spec import EngineInfo, EngineSpec, EngineStatus
from sage.llm.launchers import LAUNCHERS, LaunchContext, Launcher, launcher_name
from sage.llm.launchers.base import EngineStartError
from sage.llm.launchers.process import pid_alive
from sage.llm.launchers.ray_actor import ray_address_for

# Where callers found them before launching moved to sage.llm.launchers.
__all__ = ["EngineManager", "EngineRegistry", "EngineStartError", "NullRegistry"]
__all__ += ["pid_alive", "ray_address_for"]

log = get_logger("sage.llm.engine_manager")


class EngineManager:
    """Engines as processes: ``start(spec)``, ``stop(id)``, ``restart(id)``, ``list()``.

    ``detach=True`` (the CLI) leaves engines running after this process exits;
    otherwise they stop with it. Use as a context manager to stop what it started.
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        persist: bool = True,
        detach: bool = False,
        start_timeout: float = 180.0,
    ) -> None:
        if home is None:
            from sage.common.config import get_settings

            home = get_settings().home
        self.root = Path(home).expanduser() / "engines"
        self.log_dir = self.root / "logs"
        self.registry: EngineRegistry = (
            EngineRegistry(self.root / "registry.json") if persist else NullRegistry()
        )
        self.detach = detach
        self.start_timeout = start_timeout
        self._context = LaunchContext(self.log_dir, self._save, start_timeout)
        self._launchers: dict[str, Launcher] = {}
        self._owned: dict[str, EngineInfo] = {}  # started here; updated in place
        self._engine_locks: dict[str, threading.Lock] = {}
        self._lock = threading.RLock()
        self._monitor: EngineMonitor | None = None

    def launcher(self, spec: EngineSpec) -> Launcher:
        """The launcher for ``spec`` (one instance per name and manager)."""
        name = launcher_name(spec)
        with self._lock:
            if name not in self._launchers:
                self._launchers[name] = LAUNCHERS.get(name)(self._context)
            return self._launchers[name]

    # -- starting ------------------------------------------------------------------
    def start_engine(
        self,
        kind: str = "llm",
        model: str | None = None,
        backend: str | None = None,
        **options: Any,
    ) -> EngineInfo:
        """Keyword form of :meth:`start`: ``start_engine(kind="embedding")`` = default model."""
        spec = EngineSpec(
            kind=kind,  # type: ignore[arg-type]
            backend=backend or default_backend(kind),
            model=model or "",
            **options,
        )
        return self.start(spec)

    def start(
        self, spec: EngineSpec, *, engine_id: str | None = None, wait: bool = True
    ) -> EngineInfo:
        """Launch ``spec`` (or register it, when external) and wait until it is healthy."""
        spec = resolve_spec(spec)
        launcher = self.launcher(spec)
        info = self._claim(spec, engine_id, launcher.claims_port)
        with self._lock:
            self._owned[info.id] = info
            self._engine_locks.setdefault(info.id, threading.Lock())
        try:
            launcher.start(info, wait=wait)
        except BaseException:
            launcher.stop(info)
            self._forget(info.id)
            raise
        return info

    def _claim(self, spec: EngineSpec, engine_id: str | None, port: bool) -> EngineInfo:
        """Reserve an id (and a free port, when ``port``) in the registry."""

        def change(engines: dict[str, EngineInfo]) -> EngineInfo:
            self._prune(engines)
            claimed = spec
            if port:
                taken = {e.spec.port for e in engines.values() if e.spec.port}
                claimed = spec.model_copy(update={"port": spec.port or _free_port(spec, taken)})
            new_id = engine_id or next_engine_id(engines, spec)
            if new_id in engines and engine_id is None:
                raise ConfigError(f"engine id {new_id} is taken")
            reservation = EngineInfo(  # pruned with this process until the launch records it
                id=new_id,
                spec=claimed,
                url=f"http://{spec.host}:{claimed.port}" if port else str(spec.url),
                owner_pid=os.getpid(),
            )
            engines[new_id] = reservation
            return reservation.model_copy(
                update={"owner_pid": None if self.detach else os.getpid()}
            )

        return self.registry.update(change)

    def wait_healthy(self, engine_id: str, timeout: float | None = None) -> EngineInfo:
        """Block until ``engine_id`` answers ``/health`` (for ``start(..., wait=False)``).

        On failure the engine is stopped and :class:`EngineStartError` carries its log tail.
        """
        info = self.get(engine_id)
        launcher = self.launcher(info.spec)
        try:
            launcher.wait_healthy(info, timeout)
        except BaseException:
            launcher.stop(info)
            self._forget(engine_id)
            raise
        return info

    # -- observing -------------------------------------------------------------------
    def get(self, engine_id: str) -> EngineInfo:
        with self._lock:
            if engine_id in self._owned:
                return self._owned[engine_id]
        engines = self.registry.load()
        if engine_id not in engines:
            raise KeyError(f"no engine {engine_id!r} (see `sage engine list`)")
        return engines[engine_id]

    def list(self, refresh: bool = False) -> list[EngineInfo]:
        """Every engine in the registry (this manager's own, live objects first)."""
        if refresh:
            self.check_health()
        self.registry.update(self._prune)
        engines = self.registry.load()
        with self._lock:
            engines.update(self._owned)
        for info in engines.values():
            info.status = self.launcher(info.spec).listed_status(info)
        return sorted(engines.values(), key=lambda e: e.id)

    def check_health(self) -> dict[str, EngineStatus]:
        """Probe every engine once; record and return each one's status."""
        result: dict[str, EngineStatus] = {}
        engines = self.registry.load()
        with self._lock:
            engines.update(self._owned)
        for info in engines.values():
            status = self.launcher(info.spec).status(info)
            if status is not info.status:
                info.status = status
                self._save(info)
            result[info.id] = status
        return result

    def logs(self, engine_id: str, lines: int = 100) -> str:
        info = self.get(engine_id)
        return self.launcher(info.spec).log_tail(info, lines)

    # -- restarting and stopping ----------------------------------------------------------
    def restart(self, engine_id: str) -> EngineInfo:
        """Stop (if still running) and start ``engine_id`` again on the same port."""
        asked = time.time()
        info = self.get(engine_id)
        lock = self._engine_locks.setdefault(engine_id, threading.Lock())
        with lock:
            if info.started_at > asked and info.status is EngineStatus.HEALTHY:
                return info  # someone restarted it while we waited
            with self._lock:
                self._owned.setdefault(engine_id, info)
            self.launcher(info.spec).restart(info)
        return info

    def stop(self, engine_id: str, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL after ``timeout``; forgets the engine."""
        info = self.get(engine_id)
        self.launcher(info.spec).stop(info, timeout)
        self._forget(engine_id)
        log.info("engine %s stopped", engine_id)

    def stop_all(self, owned_only: bool = True) -> None:
        """Stop this manager's engines (``owned_only=False``: every registered engine)."""
        self.stop_monitor()
        with self._lock:
            ids = list(self._owned)
        if not owned_only:
            ids += [i for i in self.registry.load() if i not in ids]
        infos = []
        for engine_id in ids:
            with contextlib.suppress(KeyError):
                infos.append(self.get(engine_id))
        for info in infos:  # signal all first, then wait: stops in parallel
            self.launcher(info.spec).interrupt(info)
        for info in infos:
            self.launcher(info.spec).stop(info)
            self._forget(info.id)

    def _forget(self, engine_id: str) -> None:
        with self._lock:
            self._owned.pop(engine_id, None)
            launchers = list(self._launchers.values())
        for launcher in launchers:
            launcher.forget(engine_id)
        self.registry.update(lambda engines: engines.pop(engine_id, None))

    def _save(self, info: EngineInfo) -> None:
        def change(engines: dict[str, EngineInfo]) -> None:
            engines[info.id] = info.model_copy()

        self.registry.update(change)

    def _prune(self, engines: dict[str, EngineInfo]) -> None:
        """Drop entries of managers that died without cleaning up (engine gone too).

        Dead detached engines stay listed (as dead) until ``sage engine stop`` removes them.
        """
        for key, info in list(engines.items()):
            if key in self._owned or info.owner_pid is None:
                continue
            if not process_running(info.owner_pid) and self.launcher(info.spec).gone(info):
                engines.pop(key)

    # -- monitoring --------------------------------------------------------------------
    def start_monitor(self, interval_s: float = 2.0, auto_restart: bool = True) -> None:
        """Check health every ``interval_s`` in a thread; restart this manager's dead engines."""
        if self._monitor is None:
            self._monitor = EngineMonitor(lambda: self.watch_once(auto_restart), interval_s)
            self._monitor.start()

    def watch_once(self, auto_restart: bool = True) -> dict[str, EngineStatus]:
        statuses = self.check_health()
        if auto_restart:
            with self._lock:
                owned = set(self._owned)
            for engine_id, status in statuses.items():
                if status is EngineStatus.DEAD and (engine_id in owned or self.detach):
                    try:
                        self.restart(engine_id)
                        statuses[engine_id] = EngineStatus.HEALTHY
                    except EngineError as exc:
                        log.error("could not restart engine %s: %s", engine_id, exc)
        return statuses

    def stop_monitor(self) -> None:
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None

    # -- context manager ----------------------------------------------------------------
    def close(self) -> None:
        self.stop_all()

    def __enter__(self) -> EngineManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def _free_port(spec: EngineSpec, taken: set[int]) -> int:
    """The first port from the kind's default that is free and no other engine claimed."""
    from sage.common.config import get_settings
    from sage.common.ports import find_free_port

    kind = "embedding" if spec.kind == "embedding" else "llm"
    port = get_settings().ports.engine_port(kind, 0)
    while True:
        port = find_free_port(port, host=spec.host)
        if port not in taken:
            return port
        port += 1
