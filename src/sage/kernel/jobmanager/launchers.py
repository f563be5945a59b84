"""How a job's entrypoint is run: a local process group, or Ray's Job Submission API.

Local jobs run under :mod:`.runner` in their own session (process group), so stopping a
job stops everything it spawned, and their output goes to a log file. Ray jobs go to
the cluster's job server (``ray.job_submission.JobSubmissionClient``), which runs the
entrypoint on the head node with the given working dir and environment.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sage.kernel.jobmanager.store import JobRecord, JobStatus


def progress_path(log_path: Path) -> Path:
    """Where a local job's SAGE pipelines publish their graph and counters (next to its
    log; see :mod:`sage.kernel.core.progress`)."""
    return log_path.with_suffix(".progress.json")


class LocalLauncher:
    """Starts entrypoints as local process groups (see module docstring)."""

    def start(self, job: JobRecord, log_path: Path, exit_file: Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, **job.env, "SAGE_JOB_ID": job.id,
               "SAGE_JOB_PROGRESS_FILE": str(progress_path(log_path))}  # GET /jobs/ID/graph
        cmd = [sys.executable, "-m", "sage.kernel.jobmanager.runner", str(exit_file), "--",
               *job.entrypoint]
        with open(log_path, "ab") as log:
            return subprocess.Popen(cmd, cwd=job.working_dir or None, env=env,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    @staticmethod
    def signal_group(pid: int, sig: int = signal.SIGTERM) -> bool:
        """Signal the job's whole process group; ``False`` if it is already gone."""
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return False
        return True


_RAY_STATUS = {
    "PENDING": JobStatus.PENDING, "RUNNING": JobStatus.RUNNING,
    "SUCCEEDED": JobStatus.SUCCEEDED, "FAILED": JobStatus.FAILED,
    "STOPPED": JobStatus.STOPPED,
}


class RayJobLauncher:
    """Submits entrypoints to a Ray cluster's job server (dashboard address)."""

    def __init__(self, address: str) -> None:
        from ray.job_submission import JobSubmissionClient

        self.address = address
        self.client = JobSubmissionClient(address)

    def start(self, job: JobRecord) -> None:
        runtime_env: dict[str, Any] = {}
        if job.working_dir:
            runtime_env["working_dir"] = job.working_dir
        if job.env:
            runtime_env["env_vars"] = dict(job.env)
        res = dict(job.resources)
        self.client.submit_job(
            entrypoint=shlex.join(job.entrypoint), submission_id=job.id,
            runtime_env=runtime_env or None,
            entrypoint_num_cpus=res.pop("num_cpus", None),
            entrypoint_num_gpus=res.pop("num_gpus", None),
            entrypoint_memory=int(res.pop("memory")) if "memory" in res else None,
            entrypoint_resources=res or None,
        )

    def status(self, job_id: str) -> tuple[JobStatus, str]:
        info = self.client.get_job_info(job_id)
        return _RAY_STATUS.get(str(info.status), JobStatus.RUNNING), info.message or ""

    def logs(self, job_id: str) -> str:
        return str(self.client.get_job_logs(job_id))

    def stop(self, job_id: str) -> None:
        self.client.stop_job(job_id)

    def delete(self, job_id: str) -> None:
        self.client.delete_job(job_id)
