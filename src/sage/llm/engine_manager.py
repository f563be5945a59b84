"""Start, watch, restart and stop engine processes; remember them across CLI runs.

An engine is a process speaking OpenAI HTTP (see :mod:`sage.llm.engines`). The manager
launches it with its log going to ``<home>/engines/logs/<id>.log``, waits for
``/health``, and records it in ``<home>/engines/registry.json`` so ``sage engine list``
in another shell sees it. In-process managers (``sage llm serve``, tests) tie their
engines to their own life (``--parent-pid``, ``stop_all`` on exit); the CLI starts
detached engines that outlive it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sage.common.errors import ConfigError, EngineError
from sage.common.logging import get_logger
from sage.common.processes import process_running
from sage.llm.control_plane.engines import normalize_url
from sage.llm.engines.external import probe, with_served_models
from sage.llm.engines.launch import child_environment, default_backend, engine_command, resolve_spec
from sage.llm.engines.spec import EngineInfo, EngineSpec, EngineStatus

log = get_logger("sage.llm.engine_manager")

PROCESS_MARKERS = ("sage.llm.engines", "vllm")  # guards against signalling a reused pid


class EngineStartError(EngineError):
    """An engine process exited or never became healthy; carries its log tail."""

    def __init__(self, message: str, log_tail: str = "") -> None:
        self.log_tail = log_tail
        detail = message + (f"\n--- engine log (last lines) ---\n{log_tail}" if log_tail else "")
        super().__init__(detail)


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` runs one of our engine processes (not a zombie, not reused)."""
    if not process_running(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return True  # exiting, or no /proc: it exists and is not a zombie
    return not cmdline.strip() or any(marker in cmdline for marker in PROCESS_MARKERS)


def health_ok(url: str, api_key: str | None = None, timeout: float = 2.0) -> bool:
    """Our own engines answer ``/health`` only once the model is loaded."""
    return probe(url, api_key, timeout, paths=("/health",))


def tail(path: Path | None, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file ("" when there is none)."""
    if path is None or not Path(path).exists():
        return ""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 64 * 1024))
        data = f.read().decode("utf-8", "replace")
    return "\n".join(data.splitlines()[-lines:])


class EngineRegistry:
    """The JSON file listing managed engines; every change is a locked read-modify-write."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, EngineInfo]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        out: dict[str, EngineInfo] = {}
        for key, value in raw.get("engines", {}).items():
            try:
                out[key] = EngineInfo.model_validate(value)
            except ValueError:
                log.warning("ignoring a malformed registry entry %s", key)
        return out

    def _write(self, engines: dict[str, EngineInfo]) -> None:
        tmp = self.path.with_suffix(".tmp")
        data = {"engines": {k: v.model_dump(mode="json") for k, v in engines.items()}}
        # Owner-only: it holds the API keys of external engines.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data, indent=2))
        os.replace(tmp, self.path)

    def load(self) -> dict[str, EngineInfo]:
        with self._locked():
            return self._read()

    def update(self, change: Callable[[dict[str, EngineInfo]], Any]) -> Any:
        with self._locked():
            engines = self._read()
            result = change(engines)
            self._write(engines)
            return result


class NullRegistry(EngineRegistry):
    """No file: for throw-away managers (``persist=False``)."""

    def __init__(self) -> None:
        self._engines: dict[str, EngineInfo] = {}
        self._lock = threading.Lock()

    def load(self) -> dict[str, EngineInfo]:
        with self._lock:
            return {k: v.model_copy() for k, v in self._engines.items()}

    def update(self, change: Callable[[dict[str, EngineInfo]], Any]) -> Any:
        with self._lock:
            return change(self._engines)


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
        self._owned: dict[str, EngineInfo] = {}  # started here; updated in place
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._engine_locks: dict[str, threading.Lock] = {}
        self._lock = threading.RLock()
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()

    # -- starting ------------------------------------------------------------------
    def start_engine(
        self, kind: str = "llm", model: str | None = None, backend: str | None = None, **options: Any
    ) -> EngineInfo:
        """Keyword form of :meth:`start`: ``start_engine(kind="embedding")`` = default model."""
        spec = EngineSpec(
            kind=kind,  # type: ignore[arg-type]
            backend=backend or default_backend(kind),  # type: ignore[arg-type]
            model=model or "",
            **options,
        )
        return self.start(spec)

    def start(self, spec: EngineSpec, *, engine_id: str | None = None, wait: bool = True) -> EngineInfo:
        """Launch ``spec`` (or register it, when external) and wait until it is healthy."""
        spec = resolve_spec(spec)
        if spec.backend == "external":
            return self._add_external(spec, engine_id, wait)
        port, engine_id = self._claim(spec, engine_id)
        spec = spec.model_copy(update={"port": port})
        info = EngineInfo(
            id=engine_id,
            spec=spec,
            url=f"http://{spec.host}:{port}",
            log_path=self.log_dir / f"{engine_id}.log",
            owner_pid=None if self.detach else os.getpid(),
        )
        with self._lock:
            self._owned[engine_id] = info
            self._engine_locks.setdefault(engine_id, threading.Lock())
        try:
            self._launch(info)
            if wait:
                self._wait_healthy(info)
        except BaseException:
            self._kill(info)
            self._forget(engine_id)
            raise
        return info

    def _claim(self, spec: EngineSpec, engine_id: str | None) -> tuple[int, str]:
        """Pick a free port and id and reserve them in the registry."""
        from sage.common.ports import find_free_port

        def change(engines: dict[str, EngineInfo]) -> tuple[int, str]:
            self._prune(engines)
            taken = {e.spec.port for e in engines.values() if e.spec.port}
            if spec.port is not None:
                port = spec.port
            else:
                from sage.common.config import get_settings

                kind = "embedding" if spec.kind == "embedding" else "llm"
                port = get_settings().ports.engine_port(kind, 0)
                while True:
                    port = find_free_port(port, host=spec.host)
                    if port not in taken:
                        break
                    port += 1
            new_id = engine_id or _next_id(engines, spec)
            if new_id in engines and engine_id is None:
                raise ConfigError(f"engine id {new_id} is taken")
            engines[new_id] = EngineInfo(  # a reservation until _launch records the pid
                id=new_id,
                spec=spec.model_copy(update={"port": port}),
                url=f"http://{spec.host}:{port}",
                owner_pid=os.getpid(),
            )
            return port, new_id

        return self.registry.update(change)

    def _launch(self, info: EngineInfo) -> None:
        # Tied to its owner (whoever restarts it); detached engines (owner None) to no one.
        argv, extra_env = engine_command(info.spec, info.spec.port or 0, info.owner_pid)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        assert info.log_path is not None
        with open(info.log_path, "ab") as logfile:
            logfile.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} start: {' '.join(argv)}\n".encode())
            logfile.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                env=child_environment(extra_env),
                start_new_session=True,  # Ctrl-C in the CLI's terminal does not reach it
            )
        with self._lock:
            self._procs[info.id] = proc
        info.pid = proc.pid
        info.status = EngineStatus.STARTING
        info.started_at = time.time()
        self._save(info)
        log.info("engine %s (%s) starting on %s, pid %d", info.id, info.spec.backend, info.url, proc.pid)

    def wait_healthy(self, engine_id: str, timeout: float | None = None) -> EngineInfo:
        """Block until ``engine_id`` answers ``/health`` (for ``start(..., wait=False)``).

        On failure the engine is stopped and :class:`EngineStartError` carries its log tail.
        """
        info = self.get(engine_id)
        try:
            self._wait_healthy(info, timeout)
        except BaseException:
            self._kill(info)
            self._forget(engine_id)
            raise
        return info

    def _wait_healthy(self, info: EngineInfo, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.start_timeout)
        proc = self._procs.get(info.id)
        while time.monotonic() < deadline:
            exited = proc.poll() is not None if proc is not None else not pid_alive(info.pid)
            if exited:
                info.status = EngineStatus.DEAD
                self._save(info)
                code = proc.returncode if proc is not None else "?"
                raise EngineStartError(
                    f"engine {info.id} ({info.spec.backend}, {info.spec.model}) exited with code "
                    f"{code} while starting; log: {info.log_path}",
                    tail(info.log_path),
                )
            if health_ok(info.url, info.spec.api_key, timeout=1.0):
                info.status = EngineStatus.HEALTHY
                self._save(info)
                log.info("engine %s healthy at %s", info.id, info.url)
                return
            time.sleep(0.1)
        raise EngineStartError(
            f"engine {info.id} did not become healthy at {info.url} within "
            f"{timeout or self.start_timeout:.0f}s; log: {info.log_path}",
            tail(info.log_path),
        )

    def _add_external(self, spec: EngineSpec, engine_id: str | None, wait: bool) -> EngineInfo:
        assert spec.url is not None
        url = normalize_url(spec.url)
        healthy = probe(url, spec.api_key)
        if wait and not healthy:
            raise EngineError(f"no OpenAI-compatible engine answers at {url} (GET /v1/models)")
        spec = spec.model_copy(update={"url": url})
        if healthy:
            spec = with_served_models(spec)

        def change(engines: dict[str, EngineInfo]) -> EngineInfo:
            new_id = engine_id or _next_id(engines, spec)
            info = EngineInfo(
                id=new_id,
                spec=spec,
                url=url,
                status=EngineStatus.HEALTHY if healthy else EngineStatus.UNHEALTHY,
                owner_pid=None if self.detach else os.getpid(),
            )
            engines[new_id] = info
            return info

        info = self.registry.update(change)
        with self._lock:
            self._owned[info.id] = info
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
            engines.update({k: v for k, v in self._owned.items()})
        for info in engines.values():
            if info.pid and info.status is not EngineStatus.STOPPED and not self._alive(info):
                info.status = EngineStatus.DEAD
        return sorted(engines.values(), key=lambda e: e.id)

    def check_health(self) -> dict[str, EngineStatus]:
        """Probe every engine once; record and return each one's status."""
        result: dict[str, EngineStatus] = {}
        engines = self.registry.load()
        with self._lock:
            engines.update(self._owned)
        for info in engines.values():
            if info.spec.backend == "external":
                ok = probe(info.url, info.spec.api_key)
                status = EngineStatus.HEALTHY if ok else EngineStatus.UNHEALTHY
            elif not self._alive(info):
                status = EngineStatus.DEAD
            elif health_ok(info.url, info.spec.api_key):
                status = EngineStatus.HEALTHY
            else:
                status = EngineStatus.UNHEALTHY if info.status is not EngineStatus.STARTING else info.status
            if status is not info.status:
                info.status = status
                self._save(info)
            result[info.id] = status
        return result

    def logs(self, engine_id: str, lines: int = 100) -> str:
        return tail(self.get(engine_id).log_path, lines)

    def _alive(self, info: EngineInfo) -> bool:
        proc = self._procs.get(info.id)
        if proc is not None and proc.poll() is not None:
            return False
        # A dying multi-threaded process shows as a zombie before waitpid can reap it.
        return pid_alive(info.pid)

    # -- restarting and stopping ----------------------------------------------------------
    def restart(self, engine_id: str) -> EngineInfo:
        """Stop (if still running) and start ``engine_id`` again on the same port."""
        asked = time.time()
        info = self.get(engine_id)
        if info.spec.backend == "external":
            self.check_health()
            return info
        lock = self._engine_locks.setdefault(engine_id, threading.Lock())
        with lock:
            if info.started_at > asked and info.status is EngineStatus.HEALTHY:
                return info  # someone restarted it while we waited
            with self._lock:
                self._owned.setdefault(engine_id, info)
            self._kill(info)
            info.restarts += 1
            log.warning("restarting engine %s (restart #%d)", engine_id, info.restarts)
            self._launch(info)
            try:
                self._wait_healthy(info)
            except EngineStartError:
                self._kill(info)
                info.status = EngineStatus.DEAD
                self._save(info)
                raise
        return info

    def stop(self, engine_id: str, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM), then SIGKILL after ``timeout``; forgets the engine."""
        info = self.get(engine_id)
        self._kill(info, timeout)
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
            self._signal(info, signal.SIGTERM)
        for info in infos:
            self._kill(info)
            self._forget(info.id)

    def _signal(self, info: EngineInfo, sig: int) -> None:
        if info.pid and self._alive(info):
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, sig)

    def _kill(self, info: EngineInfo, timeout: float = 10.0) -> None:
        if not info.pid:
            return
        self._signal(info, signal.SIGTERM)
        proc = self._procs.get(info.id)
        deadline = time.monotonic() + timeout
        while self._alive(info) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._alive(info):
            log.warning("engine %s ignored SIGTERM; killing it", info.id)
            self._signal(info, signal.SIGKILL)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        info.status = EngineStatus.STOPPED

    def _forget(self, engine_id: str) -> None:
        with self._lock:
            self._owned.pop(engine_id, None)
            self._procs.pop(engine_id, None)
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
            if not process_running(info.owner_pid) and not pid_alive(info.pid):
                engines.pop(key)

    # -- monitoring --------------------------------------------------------------------
    def start_monitor(self, interval_s: float = 2.0, auto_restart: bool = True) -> None:
        """Check health every ``interval_s`` in a thread; restart this manager's dead engines."""
        if self._monitor is not None:
            return
        self._monitor_stop.clear()

        def loop() -> None:
            while not self._monitor_stop.wait(interval_s):
                try:
                    self.watch_once(auto_restart)
                except Exception:  # keep watching whatever one round hit
                    log.exception("engine health check failed")

        self._monitor = threading.Thread(target=loop, daemon=True, name="engine-monitor")
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
        self._monitor_stop.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=30)
        self._monitor = None

    # -- context manager ----------------------------------------------------------------
    def close(self) -> None:
        self.stop_all()

    def __enter__(self) -> EngineManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


def _next_id(engines: dict[str, EngineInfo], spec: EngineSpec) -> str:
    prefix = "fake" if spec.backend == "fake" else spec.kind
    if spec.backend == "external":
        prefix = "external"
    n = 0
    while f"{prefix}-{n}" in engines:
        n += 1
    return f"{prefix}-{n}"
