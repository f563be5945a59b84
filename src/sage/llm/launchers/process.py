"""Engines as local child processes, their log in ``<home>/engines/logs/<id>.log``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from sage.common.logging import get_logger
from sage.common.processes import process_running
from sage.llm.engines.cpu_env import child_environment
from sage.llm.engines.launch import engine_command
from sage.llm.engines.spec import EngineInfo, EngineStatus
from sage.llm.launchers.base import LaunchContext, health_ok
from sage.llm.launchers.managed import ManagedLauncher
from sage.llm.launchers.placement import discover_device_group

log = get_logger("sage.llm.engine_manager")

PROCESS_MARKERS = ("sage.llm.engines", "vllm")  # guards against signalling a reused pid


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` runs one of our engine processes (not a zombie, not reused)."""
    if not process_running(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return True  # exiting, or no /proc: it exists and is not a zombie
    return not cmdline.strip() or any(marker in cmdline for marker in PROCESS_MARKERS)


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


class ProcessLauncher(ManagedLauncher):
    """``subprocess.Popen`` in its own session (Ctrl-C in the CLI does not reach it),
    tied to its owner through ``--parent-pid`` unless detached."""

    def __init__(self, ctx: LaunchContext) -> None:
        super().__init__(ctx)
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def launch(self, info: EngineInfo) -> None:
        discover_device_group(info)  # a child of this machine: its cores or its GPU
        # Tied to its owner (whoever restarts it); detached engines (owner None) to no one.
        argv, extra_env = engine_command(info.spec, info.spec.port or 0, info.owner_pid)
        self.ctx.log_dir.mkdir(parents=True, exist_ok=True)
        if info.log_path is None:
            info.log_path = self.ctx.log_dir / f"{info.id}.log"
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(info.log_path, "ab") as logfile:
            logfile.write(f"\n=== {stamp} start: {' '.join(argv)}\n".encode())
            logfile.flush()
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                env=child_environment(extra_env),
                start_new_session=True,
            )
        with self._lock:
            self._procs[info.id] = proc
        info.pid = proc.pid
        info.status = EngineStatus.STARTING
        info.started_at = time.time()
        self.ctx.save(info)
        log.info(
            "engine %s (%s) starting on %s, pid %d", info.id, info.spec.backend, info.url, proc.pid
        )

    def exit_code(self, info: EngineInfo) -> str | None:
        proc = self._procs.get(info.id)
        if proc is not None:
            return None if proc.poll() is None else str(proc.returncode)
        return None if pid_alive(info.pid) else "?"

    def where(self, info: EngineInfo) -> str:
        return str(info.log_path)

    def log_tail(self, info: EngineInfo, lines: int) -> str:
        return tail(info.log_path, lines)

    def alive(self, info: EngineInfo) -> bool:
        proc = self._procs.get(info.id)
        if proc is not None and proc.poll() is not None:
            return False
        # A dying multi-threaded process shows as a zombie before waitpid can reap it.
        return pid_alive(info.pid)

    def status(self, info: EngineInfo) -> EngineStatus:
        if not self.alive(info):  # a dead local pid is cheap to see
            return EngineStatus.DEAD
        if health_ok(info.url, info.spec.api_key):
            return EngineStatus.HEALTHY
        return EngineStatus.UNHEALTHY if info.status is not EngineStatus.STARTING else info.status

    def listed_status(self, info: EngineInfo) -> EngineStatus:
        if info.pid and info.status is not EngineStatus.STOPPED and not self.alive(info):
            return EngineStatus.DEAD
        return info.status

    def gone(self, info: EngineInfo) -> bool:
        return not pid_alive(info.pid)

    def interrupt(self, info: EngineInfo) -> None:
        self._signal(info, signal.SIGTERM)

    def _signal(self, info: EngineInfo, sig: int) -> None:
        if info.pid and self.alive(info):
            with contextlib.suppress(ProcessLookupError):
                os.kill(info.pid, sig)

    def stop(self, info: EngineInfo, timeout: float = 10.0) -> None:
        if not info.pid:
            return
        self._signal(info, signal.SIGTERM)
        proc = self._procs.get(info.id)
        deadline = time.monotonic() + timeout
        while self.alive(info) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.alive(info):
            log.warning("engine %s ignored SIGTERM; killing it", info.id)
            self._signal(info, signal.SIGKILL)
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        info.status = EngineStatus.STOPPED

    def forget(self, engine_id: str) -> None:
        with self._lock:
            self._procs.pop(engine_id, None)
