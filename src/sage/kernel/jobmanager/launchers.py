"""How a job's entrypoint is run: a local process group, or Ray's Job Submission API.

Local jobs run under :mod:`.runner` in their own session (process group), so stopping a
job stops everything it spawned, and their output goes to a 0600 log file. They run as
the job manager's user (no sandbox) with a clean environment: what was submitted, plus
what a job needs (:func:`job_environment`); ``python`` is the job manager's interpreter.
Ray jobs go to the cluster's job server (``ray.job_submission.JobSubmissionClient``),
which runs the entrypoint on the head node with the given working dir and environment.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from sage.kernel.jobmanager.store import JobRecord, JobStatus

# Passed through from the job manager's environment; everything else stays out.
JOB_ENV_KEEP = ("HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
                "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")
PYTHON_NAMES = ("python", "python3", f"python3.{sys.version_info.minor}")


def job_environment(job_id: str, submitted: dict[str, str]) -> dict[str, str]:
    """A job's environment: locale, home, ``PATH`` with this interpreter's directory first
    (the venv), ``SAGE_*`` settings without secrets, then what was ``submitted``."""
    env = {k: v for k, v in os.environ.items()
           if k in JOB_ENV_KEEP or k.startswith("LC_")
           or (k.startswith("SAGE_") and not any(w in k for w in _SECRET_WORDS))}
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", os.defpath)])
    if sys.prefix != sys.base_prefix:
        env["VIRTUAL_ENV"] = sys.prefix
    return {**env, **submitted, "SAGE_JOB_ID": job_id}


def resolve_entrypoint(entrypoint: list[str]) -> tuple[list[str], str | None]:
    """``python ...`` runs as this interpreter (``sys.executable``); also which program
    the entrypoint runs, for ``sage job status``."""
    if entrypoint and entrypoint[0] in PYTHON_NAMES:
        return [sys.executable, *entrypoint[1:]], sys.executable
    program = shutil.which(entrypoint[0]) if entrypoint else None
    return list(entrypoint), program


def progress_path(log_path: Path) -> Path:
    """Where a local job's SAGE pipelines publish their graph and counters (next to its
    log; see :mod:`sage.kernel.core.progress`)."""
    return log_path.with_suffix(".progress.json")


class LocalLauncher:
    """Starts entrypoints as local process groups (see module docstring)."""

    def start(self, job: JobRecord, log_path: Path, exit_file: Path) -> subprocess.Popen[bytes]:
        env = job_environment(job.id, job.env)
        env["SAGE_JOB_PROGRESS_FILE"] = str(progress_path(log_path))  # GET /jobs/ID/graph
        cmd = [sys.executable, "-m", "sage.kernel.jobmanager.runner", str(exit_file)]
        if job.limits:
            cmd += ["--limits", json.dumps(job.limits)]
        cmd += ["--", *resolve_entrypoint(job.entrypoint)[0]]
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
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
