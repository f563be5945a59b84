"""Job life cycle over the store and the launchers, including restart reconciliation.

A local job is watched by a thread blocked in ``wait()`` (or, after a job manager
restart, on a pidfd of the surviving process): no status polling. Its exit code comes
from the :mod:`.runner` wrapper's exit file, so it is right even across restarts. On
start, jobs still marked pending/running whose process is gone are closed with the
recorded exit code, or as failed with a clear message when there is none.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sage.common.errors import SageError
from sage.common.logging import get_logger
from sage.common.processes import process_running
from sage.kernel.jobmanager.launchers import (
    LocalLauncher,
    RayJobLauncher,
    progress_path,
    resolve_entrypoint,
)
from sage.kernel.jobmanager.limits import check_limits
from sage.kernel.jobmanager.process_tree import job_processes, signal_all, tagged
from sage.kernel.jobmanager.store import JobRecord, JobStatus, JobStore

STOP_GRACE_S = 5.0
MAX_LOG_OFFSET = 1 << 62  # past any real log; larger offsets are a client error


class UnknownJobError(SageError):
    """No job with this id (HTTP 404)."""


class JobConflictError(SageError):
    """The job is in a state that forbids the operation (HTTP 409)."""


class JobManager:
    """Submits, watches, stops and forgets jobs; the table lives in ``data_dir``."""

    def __init__(self, data_dir: str | Path, ray_address: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.log_dir = self.data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        for path in (self.data_dir, self.log_dir):  # made by an older version: tighten
            os.chmod(path, 0o700)
        self.store = JobStore(self.data_dir / "jobs.db")
        self.local = LocalLauncher()
        self.ray: RayJobLauncher | None = RayJobLauncher(ray_address) if ray_address else None
        self._stopping: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.logger = get_logger("kernel.jobmanager")
        self.reconcile()

    # -- submit -----------------------------------------------------------------------
    def submit(self, entrypoint: list[str], name: str | None = None,
               working_dir: str | None = None, env: dict[str, str] | None = None,
               resources: dict[str, float] | None = None,
               limits: dict[str, int] | None = None) -> JobRecord:
        """Start a job; ``env`` values (maybe secrets) are kept only in its process."""
        job_id = f"job-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        job = JobRecord(id=job_id, name=name or Path(entrypoint[-1]).stem or job_id,
                        entrypoint=list(entrypoint), working_dir=working_dir,
                        env=dict(env or {}), resources=dict(resources or {}),
                        backend="ray" if self.ray else "local",
                        log_path=str(self.log_dir / f"{job_id}.log"),
                        interpreter=None if self.ray else resolve_entrypoint(entrypoint)[1],
                        limits=check_limits(dict(limits or {})))
        self.store.add(job)
        try:
            if self.ray is not None:
                self.ray.start(job)
                # the cluster says whether it runs yet (entrypoint resources may be busy)
                submitted = self.store.update(job_id, started_at=time.time()) or job
                return self._refresh_ray(submitted)
            proc = self.local.start(job, Path(job.log_path or ""), self._exit_file(job_id))
        except Exception as exc:
            return self.store.update(job_id, status=JobStatus.FAILED,  # type: ignore[return-value]
                                     ended_at=time.time(),
                                     message=f"could not start: {type(exc).__name__}: {exc}")
        job = self.store.update(job_id, status=JobStatus.RUNNING, started_at=time.time(),
                                pid=proc.pid)  # type: ignore[assignment]
        threading.Thread(target=self._watch_child, args=(job_id, proc), daemon=True,
                         name=f"sage-job-{job_id}").start()
        return job

    def _exit_file(self, job_id: str) -> Path:
        return self.log_dir / f"{job_id}.exit"

    # -- watching ---------------------------------------------------------------------
    def _watch_child(self, job_id: str, proc: Any) -> None:
        code = proc.wait()
        self._finalize(job_id, code)

    def _watch_pid(self, job_id: str, pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)
        except (OSError, AttributeError):  # gone already, or no pidfd: poll gently
            while process_running(pid):
                time.sleep(1.0)
        else:
            try:
                select.select([fd], [], [])
            finally:
                os.close(fd)
        self._finalize(job_id, None)

    def _finalize(self, job_id: str, returncode: int | None) -> None:
        if self._closed:  # shut down: the next job manager reconciles this job
            return
        code = self._read_exit_code(job_id)
        if code is None:
            code = returncode
        job = self.store.get(job_id)
        if job is None:
            return
        with self._lock:
            stopping = job_id in self._stopping
            self._stopping.discard(job_id)
        if stopping or job.status == JobStatus.STOPPED:
            status, message = JobStatus.STOPPED, "stopped on request"
        elif code == 0:
            status, message = JobStatus.SUCCEEDED, ""
        elif code is None:
            status, message = JobStatus.FAILED, "the job's process is gone; exit code unknown"
        else:
            status, message = JobStatus.FAILED, f"exited with code {code}"
        try:
            self.store.update(job_id, status=status, exit_code=code, ended_at=time.time(),
                              message=message)
        except sqlite3.ProgrammingError:  # closed concurrently by shutdown
            pass

    def _read_exit_code(self, job_id: str) -> int | None:
        try:
            return int(self._exit_file(job_id).read_text().strip())
        except (OSError, ValueError):
            return None

    def reconcile(self) -> None:
        """After a (re)start: close jobs whose process is gone, re-watch the others."""
        for job in self.store.list():
            if job.status.terminal:
                continue
            if job.backend == "ray":
                self._refresh_ray(job)
                continue
            if job.pid is not None and process_running(job.pid):
                threading.Thread(target=self._watch_pid, args=(job.id, job.pid),
                                 daemon=True).start()
                continue
            code = self._read_exit_code(job.id)
            if code is None:
                self.store.update(job.id, status=JobStatus.FAILED, ended_at=time.time(),
                                  message="the job's process was gone when the job manager "
                                          "restarted (exit code unknown)")
            else:
                self._finalize(job.id, code)

    def _refresh_ray(self, job: JobRecord) -> JobRecord:
        if self.ray is None or job.status.terminal:
            return job
        try:
            status, message = self.ray.status(job.id)
        except Exception as exc:  # noqa: BLE001 - cluster unreachable: keep what we know
            self.logger.warning("cannot refresh Ray job %s: %s", job.id, exc)
            return job
        changes: dict[str, Any] = {"status": status, "message": message}
        if status.terminal:
            changes["ended_at"] = time.time()
        return self.store.update(job.id, **changes) or job

    # -- queries ------------------------------------------------------------------------
    def get(self, job_id: str) -> JobRecord:
        job = self.store.get(job_id)
        if job is None:
            raise UnknownJobError(f"unknown job {job_id!r}")
        return self._refresh_ray(job) if job.backend == "ray" else job

    def list(self) -> list[JobRecord]:
        return [self._refresh_ray(j) if j.backend == "ray" else j for j in self.store.list()]

    def logs(self, job_id: str, offset: int = 0) -> tuple[str, int, bool]:
        """``(text from offset, next offset, job finished)``."""
        job = self.get(job_id)
        if job.backend == "ray" and self.ray is not None:
            data = self.ray.logs(job_id)
            return data[offset:], len(data), job.status.terminal
        if offset > MAX_LOG_OFFSET:
            raise ValueError(f"offset {offset} is past any log (at most {MAX_LOG_OFFSET})")
        done = job.status.terminal  # read status first: no output can be missed after it
        path = Path(job.log_path or "")
        if not path.exists():
            return "", offset, done
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read(1 << 20)
        return chunk.decode("utf-8", "replace"), offset + len(chunk), done and len(chunk) < 1 << 20

    def graph(self, job_id: str) -> dict[str, Any] | None:
        """The pipelines the job reported (plan + live counters), ``None`` before any."""
        job = self.get(job_id)
        try:
            data = json.loads(progress_path(Path(job.log_path or "")).read_text())
        except (OSError, ValueError):
            return None
        return {"job_id": job_id, **data} if isinstance(data, dict) else None

    # -- control ------------------------------------------------------------------------
    def stop(self, job_id: str) -> JobRecord:
        job = self.get(job_id)
        if job.status.terminal:
            return job
        if job.backend == "ray" and self.ray is not None:
            self.ray.stop(job_id)
            return self.store.update(job_id, status=JobStatus.STOPPED, ended_at=time.time(),
                                     message="stopped on request") or job
        with self._lock:
            self._stopping.add(job_id)
        self.store.update(job_id, status=JobStatus.STOPPED, message="stopping")
        if job.pid is None:
            return self.store.get(job_id) or job
        # Found before any signal: once the runner exits, setsid orphans leave its tree.
        escaped = job_processes(job.pid, job_id) - {job.pid}
        if self.local.signal_group(job.pid, signal.SIGTERM):
            signal_all(escaped, signal.SIGTERM)
            threading.Thread(target=self._kill_later, args=(job.pid, job_id, escaped),
                             daemon=True).start()
        else:
            signal_all(escaped, signal.SIGKILL)
            self._finalize(job_id, None)
        return self.store.get(job_id) or job

    def _kill_later(self, pid: int, job_id: str, escaped: set[int]) -> None:
        """SIGKILL the group if the job ignores SIGTERM for ``STOP_GRACE_S``, and every
        process of the job that left it (``setsid``) in any case."""
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            ready = [True]  # already gone
        else:
            try:
                ready, _, _ = select.select([fd], [], [], STOP_GRACE_S)
            finally:
                os.close(fd)
        if not ready:
            escaped |= job_processes(pid, job_id) - {pid}
            self.local.signal_group(pid, signal.SIGKILL)
        time.sleep(0.2)  # let well-behaved ones exit on SIGTERM first
        signal_all(escaped | tagged(job_id), signal.SIGKILL)  # the runner's pid may be reused

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if not job.status.terminal:
            raise JobConflictError(f"job {job_id!r} is {job.status.value}; stop it first")
        if job.backend == "ray" and self.ray is not None:
            try:
                self.ray.delete(job_id)
            except Exception as exc:  # noqa: BLE001 - already gone on the cluster
                self.logger.warning("Ray could not delete %s: %s", job_id, exc)
        log = Path(job.log_path or "")
        for path in (log, self._exit_file(job_id), progress_path(log)):
            if path.is_file():
                path.unlink()
        self.store.delete(job_id)

    def shutdown(self, stop_jobs: bool = False) -> None:
        """Close the store; running local jobs keep running unless ``stop_jobs``."""
        if stop_jobs:
            for job in self.store.list():
                if not job.status.terminal:
                    self.stop(job.id)
        self._closed = True
        self.store.close()
