"""Start, watch, restart and stop engine processes; remember them across CLI runs.

An engine is a process speaking OpenAI HTTP (see :mod:`sage.llm.engines`). The manager
launches it with its log going to ``<home>/engines/logs/<id>.log``, waits for
``/health``, and records it in ``<home>/engines/registry.json`` so ``sage engine list``
in another shell sees it. In-process managers (``sage llm serve``, tests) tie their
engines to their own life (``--parent-pid``, ``stop_all`` on exit); the CLI starts
detached engines that outlive it.

With ``spec.placement`` (a :class:`~sage.llm.engines.spec.RayPlacement`) the same command
line runs in a Ray actor on the node the scheduler picks
(:func:`sage.kernel.runtime.ray.processes.place_process`), so one cluster hosts
pipelines and engines; Ray is imported only for such engines.
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
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sage.common.errors import ConfigError, EngineError, SageError
from sage.common.logging import get_logger
from sage.common.processes import process_running
from sage.llm.control_plane.engines import normalize_url
from sage.llm.engines.external import probe, with_served_models
from sage.llm.engines.launch import (
    child_environment,
    cluster_bind,
    default_backend,
    engine_command,
    remote_environment,
    resolve_spec,
)
from sage.llm.engines.spec import (
    EngineInfo,
    EngineSpec,
    EngineStatus,
    RayPlacement,
    RayProcessRef,
)
from sage.llm.exposure import is_loopback

if TYPE_CHECKING:
    from sage.kernel.runtime.ray.processes import PlacedProcess

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


def ray_address_for(placement: RayPlacement, detached: bool) -> str | None:
    """The Ray cluster a placement goes to. ``None`` (a fresh local Ray, or the one this
    process already uses) would die with this process, so a detached engine joins the
    running cluster instead (``RAY_ADDRESS``, else ``"auto"``)."""
    if placement.address or not detached:
        return placement.address
    return os.environ.get("RAY_ADDRESS") or "auto"


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
        self._placed: dict[str, PlacedProcess] = {}  # Ray-placed engines' actor handles
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
        if info.spec.placement is not None:
            self._place_on_ray(info, info.spec.placement)
            return
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

    def _place_on_ray(self, info: EngineInfo, placement: RayPlacement) -> None:
        """Run the engine's command line in a Ray actor on the node the placement's
        scheduler picks; the engine is then reached over HTTP on that node."""
        from sage.kernel.runtime.ray.processes import (
            cluster_address,
            cluster_is_this_machine,
            place_process,
        )

        detached = info.owner_pid is None  # tied to its owner, as a local engine is
        address = info.ray.address if info.ray else ray_address_for(placement, detached)
        _connect_ray(address)
        spec = cluster_bind(info.spec, cluster_is_this_machine())
        # No --parent-pid: Ray ties a non-detached actor (and its child) to this process.
        argv, extra_env = engine_command(spec, spec.port or 0)
        name = f"engine-{info.id}-{uuid.uuid4().hex[:8]}"  # new per launch: restarts never clash
        placed = place_process(
            name,
            argv,
            env=remote_environment(extra_env),
            resources=placement.resources,
            scheduler=placement.scheduler,
            address=address,
            detached=detached,
            placement_timeout_s=placement.placement_timeout_s,
        )
        with self._lock:
            self._placed[info.id] = placed
        host = spec.host if is_loopback(spec.host) else placed.node_ip
        info.spec = spec  # with the bind and key it got: restarts and the gateway reuse them
        info.url = f"http://{host}:{spec.port}"
        info.pid = placed.pid  # on its node
        info.log_path = Path(placed.log_path)  # on its node
        info.ray = RayProcessRef(name=name, address=cluster_address(address),
                                 node_id=placed.node_id, node_ip=placed.node_ip)
        info.status = EngineStatus.STARTING
        info.started_at = time.time()
        self._save(info)
        log.info("engine %s (%s) placed on Ray node %s, starting on %s, pid %d",
                 info.id, spec.backend, placed.node_ip, info.url, placed.pid)

    def _placed_process(self, info: EngineInfo) -> PlacedProcess | None:
        """The actor handle of a Ray-placed engine (found on its cluster when another
        process placed it); ``None`` when the actor or the cluster is gone."""
        with self._lock:
            placed = self._placed.get(info.id)
        if placed is not None or info.ray is None:
            return placed
        from ray.exceptions import RayActorError

        from sage.kernel.runtime.ray.processes import cluster_reachable, find_process

        if not cluster_reachable(info.ray.address):
            return None
        try:
            _connect_ray(info.ray.address)
            placed = find_process(info.ray.name, info.ray.address)
        except (ConfigError, RayActorError):
            return None
        with self._lock:
            self._placed[info.id] = placed
        return placed

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
        while time.monotonic() < deadline:
            code = self._exit_code(info)
            if code is not None:
                info.status = EngineStatus.DEAD
                self._save(info)
                raise EngineStartError(
                    f"engine {info.id} ({info.spec.backend}, {info.spec.model}) exited with code "
                    f"{code} while starting; log: {self._where(info)}",
                    self._log_tail(info, 40),
                )
            if health_ok(info.url, info.spec.api_key, timeout=1.0):
                info.status = EngineStatus.HEALTHY
                self._save(info)
                log.info("engine %s healthy at %s", info.id, info.url)
                return
            time.sleep(0.1)
        raise EngineStartError(
            f"engine {info.id} did not become healthy at {info.url} within "
            f"{timeout or self.start_timeout:.0f}s; log: {self._where(info)}",
            self._log_tail(info, 40),
        )

    def _exit_code(self, info: EngineInfo) -> str | None:
        """``None`` while the engine process runs; else its exit code ("?": unknown)."""
        if info.ray is not None:
            from ray.exceptions import RayActorError

            placed = self._placed_process(info)
            try:
                code = placed.returncode() if placed is not None else "?"
            except RayActorError:
                code = "?"
            return None if code is None else str(code)
        proc = self._procs.get(info.id)
        if proc is not None:
            return None if proc.poll() is None else str(proc.returncode)
        return None if pid_alive(info.pid) else "?"

    def _where(self, info: EngineInfo) -> str:
        """Where the log is, for messages (a Ray engine's is on its node)."""
        if info.ray is None:
            return str(info.log_path)
        return f"{info.log_path} on {info.ray.node_ip} (`sage engine logs {info.id}`)"

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
            # Ray engines' status comes from check_health (refresh): no cluster round trip here.
            if info.ray is None and info.pid and info.status is not EngineStatus.STOPPED \
                    and not self._alive(info):
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
            else:
                status = self._probe(info)
            if status is not info.status:
                info.status = status
                self._save(info)
            result[info.id] = status
        return result

    def _probe(self, info: EngineInfo) -> EngineStatus:
        if info.ray is None and not self._alive(info):  # a dead local pid is cheap to see
            return EngineStatus.DEAD
        if health_ok(info.url, info.spec.api_key):
            return EngineStatus.HEALTHY
        if info.ray is not None and not self._alive(info):  # the cluster only when silent
            return EngineStatus.DEAD
        return EngineStatus.UNHEALTHY if info.status is not EngineStatus.STARTING else info.status

    def logs(self, engine_id: str, lines: int = 100) -> str:
        return self._log_tail(self.get(engine_id), lines)

    def _log_tail(self, info: EngineInfo, lines: int) -> str:
        """From the log file when it is on this machine, else through the engine's actor."""
        if info.ray is None or (info.log_path is not None and Path(info.log_path).exists()):
            return tail(info.log_path, lines)
        from ray.exceptions import RayActorError

        placed = self._placed_process(info)
        if placed is None:
            return ""
        try:
            return placed.tail(lines)
        except RayActorError:
            return ""

    def _alive(self, info: EngineInfo) -> bool:
        if info.ray is not None:
            placed = self._placed_process(info)
            return placed is not None and placed.alive()
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
            try:
                self._launch(info)
                self._wait_healthy(info)
            except SageError as exc:
                self._kill(info)
                info.status = EngineStatus.DEAD
                self._save(info)
                if isinstance(exc, EngineStartError):
                    raise
                # A Ray placement that failed (cluster gone, resources held elsewhere).
                raise EngineStartError(f"engine {engine_id} could not be placed again: {exc}"
                                       ) from exc
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
        if info.ray is None and info.pid and self._alive(info):
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, sig)

    def _kill(self, info: EngineInfo, timeout: float = 10.0) -> None:
        if info.ray is not None:
            self._stop_placed(info, timeout)
            return
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

    def _stop_placed(self, info: EngineInfo, timeout: float) -> None:
        """Stop a Ray engine's process (SIGTERM, SIGKILL after ``timeout``) and its actor."""
        placed = self._placed_process(info)
        with self._lock:
            self._placed.pop(info.id, None)
        if placed is not None:
            placed.stop(timeout)
        info.status = EngineStatus.STOPPED

    def _forget(self, engine_id: str) -> None:
        with self._lock:
            self._owned.pop(engine_id, None)
            self._procs.pop(engine_id, None)
            self._placed.pop(engine_id, None)
        self.registry.update(lambda engines: engines.pop(engine_id, None))

    def _save(self, info: EngineInfo) -> None:
        def change(engines: dict[str, EngineInfo]) -> None:
            engines[info.id] = info.model_copy()

        self.registry.update(change)

    def _prune(self, engines: dict[str, EngineInfo]) -> None:
        """Drop entries of managers that died without cleaning up (engine gone too).

        Dead detached engines stay listed (as dead) until ``sage engine stop`` removes them.
        A Ray engine's non-detached actor died with its owner (Ray fate-shares them).
        """
        for key, info in list(engines.items()):
            if key in self._owned or info.owner_pid is None:
                continue
            gone = info.ray is not None or not pid_alive(info.pid)
            if not process_running(info.owner_pid) and gone:
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


def _connect_ray(address: str | None) -> None:
    """Join (or start) the Ray cluster, with a hint instead of Ray's bare error."""
    from sage.kernel.runtime.ray.cluster import ensure_ray

    try:
        ensure_ray(address)
    except ConnectionError as exc:
        raise ConfigError(
            f"no Ray cluster answers at {address}: start one with `ray start --head` or "
            "pass its address (--ray-address HOST:6379 or ray://HOST:10001); a cluster "
            f"with Ray's token auth also needs RAY_AUTH_MODE=token here: {exc}"
        ) from exc


def _next_id(engines: dict[str, EngineInfo], spec: EngineSpec) -> str:
    prefix = "fake" if spec.backend == "fake" else spec.kind
    if spec.backend == "external":
        prefix = "external"
    n = 0
    while f"{prefix}-{n}" in engines:
        n += 1
    return f"{prefix}-{n}"
