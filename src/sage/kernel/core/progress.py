"""A job run by the job manager publishes its pipelines' graph and live counters.

The job manager names a file in ``SAGE_JOB_PROGRESS_FILE``; every pipeline this process
submits is then snapshotted there twice a second (plan, per-operator records in/out,
skipped, dead letters, inbox peaks) with an atomic replace, and once more at exit. The
job manager serves it as ``GET /jobs/{id}/graph``; the studio draws it. No port, no
extra dependency, nothing at all when the variable is unset.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from sage.kernel.core.job import Runtime
from sage.kernel.plan import PhysicalPlan

PROGRESS_ENV = "SAGE_JOB_PROGRESS_FILE"
INTERVAL_S = 0.5
KEEP = 20  # pipelines reported per process (a job submitting many keeps the latest)


class ProgressReporter:
    """Writes the snapshot of every watched pipeline while any of them runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: list[tuple[PhysicalPlan, Runtime]] = []
        self._last: dict[int, dict[str, Any]] = {}  # id(runtime) -> its last good metrics
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # the loop and the atexit hook share the file
        self._wake = threading.Event()
        threading.Thread(target=self._loop, name="sage-progress", daemon=True).start()
        atexit.register(self.write)

    def watch(self, plan: PhysicalPlan, runtime: Runtime) -> None:
        with self._lock:
            self._jobs = [*self._jobs, (plan, runtime)][-KEEP:]
            self._wake.set()

    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        with self._lock:
            jobs = list(self._jobs)
        pipelines = []
        for plan, runtime in jobs:
            try:
                metrics = self._last[id(runtime)] = runtime.metrics().to_dict()
            except Exception:  # noqa: BLE001 - a runtime already shut down (Ray at exit)
                metrics = self._last.get(id(runtime), {"status": "unknown"})
            pipelines.append({
                "job": plan.job_name, "status": metrics.get("status"), "updated_at": now,
                "error": metrics.get("error"), "plan": plan.describe(), "metrics": metrics,
                "channel_capacity": plan.config.channel_capacity,
            })
        kept = {id(runtime) for _, runtime in jobs}
        self._last = {k: v for k, v in self._last.items() if k in kept}
        return {"updated_at": now, "pid": os.getpid(), "pipelines": pipelines}

    def write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with self._write_lock:
                tmp.write_text(json.dumps(self.snapshot(), default=str))
                os.replace(tmp, self.path)
        except OSError:
            pass  # the job manager deleted the job, or the disk is full: the job goes on

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                running = any(runtime.running for _, runtime in self._jobs)
                if not running:
                    self._wake.clear()  # a later watch() sets it again
            self.write()  # after the check: a pipeline that just ended is written ended
            if running:
                time.sleep(INTERVAL_S)


_reporters: dict[str, ProgressReporter] = {}
_reporters_lock = threading.Lock()


def report_progress(plan: PhysicalPlan, runtime: Runtime) -> None:
    """Publish this pipeline's progress when the job manager asked for it (env var)."""
    path = os.environ.get(PROGRESS_ENV)
    if not path:
        return
    with _reporters_lock:
        reporter = _reporters.get(path)
        if reporter is None:
            reporter = _reporters[path] = ProgressReporter(Path(path))
    reporter.watch(plan, runtime)
