"""With a cluster configured, jobs go through Ray's Job Submission API.

Ray's job server needs the dashboard, which the test cluster does not start; a fake
``JobSubmissionClient`` with the same signature records what the job manager asks of it
(entrypoint, runtime_env, entrypoint resources) and plays the cluster's job states.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest

from sage.kernel.jobmanager.manager import JobManager
from sage.kernel.jobmanager.store import JobStatus


class FakeJobServer:
    """Stands in for ``ray.job_submission.JobSubmissionClient`` (keyword-compatible).

    Job states live on the class, like on a cluster: a new client (a restarted job
    manager) sees the jobs the previous one submitted."""

    instances: list[FakeJobServer] = []
    status: dict[str, str] = {}

    def __init__(self, address: str) -> None:
        self.address = address
        self.submitted: dict[str, dict[str, Any]] = {}
        self.stopped: list[str] = []
        self.deleted: list[str] = []
        FakeJobServer.instances.append(self)

    def submit_job(self, **kwargs: Any) -> str:
        from ray.job_submission import JobSubmissionClient

        inspect.signature(JobSubmissionClient.submit_job).bind(self, **kwargs)  # real API
        job_id = kwargs["submission_id"]
        self.submitted[job_id] = kwargs
        self.status[job_id] = "RUNNING"
        return str(job_id)

    def get_job_info(self, job_id: str) -> Any:
        from ray.job_submission import JobStatus as RayStatus

        return type("Info", (), {"status": RayStatus(self.status[job_id]),
                                 "message": f"ray says {self.status[job_id]}"})()

    def get_job_logs(self, job_id: str) -> str:
        return f"line 1 of {job_id}\nline 2\n"

    def stop_job(self, job_id: str) -> bool:
        self.stopped.append(job_id)
        self.status[job_id] = "STOPPED"
        return True

    def delete_job(self, job_id: str) -> bool:
        self.deleted.append(job_id)
        return True


@pytest.fixture
def fake_ray(monkeypatch: pytest.MonkeyPatch) -> type[FakeJobServer]:
    pytest.importorskip("ray")
    import ray.job_submission

    FakeJobServer.instances = []
    FakeJobServer.status = {}
    monkeypatch.setattr(ray.job_submission, "JobSubmissionClient", FakeJobServer)
    return FakeJobServer


def test_jobs_are_submitted_to_the_cluster_with_env_and_resources(
        fake_ray: type[FakeJobServer], tmp_path: Path) -> None:
    manager = JobManager(tmp_path / "jm", ray_address="http://head:8265")
    try:
        job = manager.submit(["python", "my pipeline.py", "--n", "3"], name="embed",
                             working_dir=str(tmp_path), env={"MODE": "fast"},
                             resources={"num_gpus": 1, "num_cpus": 2, "memory": 2e9,
                                        "gpu_node": 1})
        server = fake_ray.instances[-1]
        assert server.address == "http://head:8265"
        sent = server.submitted[job.id]
        assert sent["entrypoint"] == "python 'my pipeline.py' --n 3"  # shell-quoted
        assert sent["runtime_env"] == {"working_dir": str(tmp_path),
                                       "env_vars": {"MODE": "fast"}}
        assert (sent["entrypoint_num_gpus"], sent["entrypoint_num_cpus"]) == (1, 2)
        assert sent["entrypoint_memory"] == 2_000_000_000
        assert sent["entrypoint_resources"] == {"gpu_node": 1}
        assert job.backend == "ray" and job.status == JobStatus.RUNNING

        fake_ray.status[job.id] = "SUCCEEDED"
        done = manager.get(job.id)
        assert done.status == JobStatus.SUCCEEDED and done.ended_at is not None
        assert manager.logs(job.id, offset=7) == (f"of {job.id}\nline 2\n",
                                                  len(f"line 1 of {job.id}\nline 2\n"), True)
        manager.delete(job.id)
        assert server.deleted == [job.id] and manager.store.get(job.id) is None
    finally:
        manager.shutdown()


def test_stop_and_restart_refresh_from_the_cluster(fake_ray: type[FakeJobServer],
                                                   tmp_path: Path) -> None:
    manager = JobManager(tmp_path / "jm", ray_address="http://head:8265")
    running = manager.submit(["python", "a.py"])
    failing = manager.submit(["python", "b.py"])
    stopped = manager.stop(running.id)
    assert stopped.status == JobStatus.STOPPED
    assert fake_ray.instances[-1].stopped == [running.id]
    fake_ray.status[failing.id] = "FAILED"
    manager.shutdown()

    # the table survives the restart; the new manager asks the cluster for live states
    restarted = JobManager(tmp_path / "jm", ray_address="http://head:8265")
    try:
        jobs = {j.id: j for j in restarted.list()}
        assert jobs[running.id].status == JobStatus.STOPPED
        assert jobs[failing.id].status == JobStatus.FAILED
        assert "ray says FAILED" in jobs[failing.id].message
    finally:
        restarted.shutdown()
