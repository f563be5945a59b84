"""Job manager end to end over HTTP: submit, list, status, logs, stop, delete."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage.cli.main import app
from sage.common.processes import process_running
from sage.kernel.jobmanager.client import JobManagerClient, JobManagerError
from tests.fixtures.jobmanager import API_KEY, RunningJobManager

PY = sys.executable
runner = CliRunner()


def cli(jm: RunningJobManager, *args: str, key: str = API_KEY) -> object:
    return runner.invoke(app, ["job", "--url", jm.url, "--api-key", key, *args],
                         env={"COLUMNS": "200"})


def test_submit_small_job_then_status_logs_list(job_manager: RunningJobManager,
                                                tmp_path: Path) -> None:
    script = tmp_path / "pipeline.py"
    script.write_text("import os\nprint('hello from', os.environ['GREETING'])\n")
    with job_manager.client() as client:
        job = client.submit([PY, str(script)], name="hello", working_dir=str(tmp_path),
                            env={"GREETING": "sage"})
        assert job["status"] == "running" and job["name"] == "hello"
        done = client.wait(job["id"], timeout=30)
        assert done["status"] == "succeeded" and done["exit_code"] == 0
        assert "hello from sage" in client.logs(job["id"])["data"]
        assert "hello from sage" in "".join(client.follow(job["id"]))
        assert [j["id"] for j in client.list()] == [job["id"]]
    result = cli(job_manager, "list")
    assert result.exit_code == 0, result.output
    assert job["id"] in result.output and "succeeded" in result.output
    result = cli(job_manager, "status", job["id"])
    assert result.exit_code == 0 and "exit_code" in result.output
    result = cli(job_manager, "logs", job["id"])
    assert "hello from sage" in result.output
    result = cli(job_manager, "logs", "-f", job["id"])  # ends because the job has ended
    assert result.exit_code == 0 and "hello from sage" in result.output


def test_cli_submit_failing_job_and_delete(job_manager: RunningJobManager) -> None:
    result = cli(job_manager, "submit", "--name", "bad", "--env", "X=1", "--",
                 PY, "-c", "import sys; print('oops'); sys.exit(3)")
    assert result.exit_code == 0, result.output
    job_id = result.output.split()[1]
    with job_manager.client() as client:
        job = client.wait(job_id, timeout=30)
        assert job["status"] == "failed" and job["exit_code"] == 3
        assert "code 3" in job["message"]
    assert cli(job_manager, "delete", job_id).exit_code == 0
    result = cli(job_manager, "status", job_id)
    assert result.exit_code == 1 and "unknown job" in result.output


def test_stop_kills_the_process_group(job_manager: RunningJobManager,
                                      tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    code = ("import subprocess, sys, time, pathlib;"
            f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']);"
            f"pathlib.Path({str(child_pid)!r}).write_text(str(p.pid));"
            "print('started', flush=True); time.sleep(120)")
    with job_manager.client() as client:
        job = client.submit([PY, "-c", code], name="sleeper")
        deadline = time.monotonic() + 20
        while not child_pid.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchild = int(child_pid.read_text())
        with pytest.raises(JobManagerError, match="stop it first") as info:
            client.delete(job["id"])
        assert info.value.status_code == 409
        assert cli(job_manager, "stop", job["id"]).exit_code == 0
        done = client.wait(job["id"], timeout=30)
        assert done["status"] == "stopped"
    deadline = time.monotonic() + 10
    while process_running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_running(grandchild)  # the whole group went, not just the entrypoint


def test_bad_requests_get_clear_errors(job_manager: RunningJobManager) -> None:
    with job_manager.client(api_key="wrong") as bad:
        with pytest.raises(JobManagerError, match="API key") as info:
            bad.list()
        assert info.value.status_code == 401
    with job_manager.client(api_key=None) as anonymous, \
            pytest.raises(JobManagerError, match="API key"):
        anonymous.submit([PY, "-c", "pass"])
    with job_manager.client() as client:
        with pytest.raises(JobManagerError, match="entrypoint is empty") as info:
            client.submit([])
        assert info.value.status_code == 400
        response = client._http.post("/jobs", json={"name": "no-entrypoint"})
        assert response.status_code == 422
        assert "entrypoint" in response.json()["detail"]
        with pytest.raises(JobManagerError, match="unknown job") as info:
            client.get("job-nope")
        assert info.value.status_code == 404
        with pytest.raises(JobManagerError, match="not a directory"):
            client.submit([PY, "-c", "pass"], working_dir="/no/such/dir")
    result = cli(job_manager, "submit", "--name", "x")
    assert result.exit_code == 2 and "missing entrypoint" in result.output
    result = cli(job_manager, "list", key="wrong")
    assert result.exit_code == 1 and "401" in result.output


def test_job_manager_not_running() -> None:
    from sage.common.ports import ephemeral_port

    url = f"http://127.0.0.1:{ephemeral_port()}"
    with JobManagerClient(url) as client, pytest.raises(JobManagerError,
                                                        match="not running"):
        client.list()
    result = runner.invoke(app, ["job", "--url", url, "list"])
    assert result.exit_code == 1 and "sage jobmanager start" in result.output


def test_exposed_bind_requires_an_api_key(tmp_path: Path) -> None:
    result = runner.invoke(app, ["jobmanager", "start", "--host", "0.0.0.0",
                                 "--data-dir", str(tmp_path)],
                           env={"SAGE_JOBMANAGER_API_KEY": ""})
    assert result.exit_code == 2
    assert "needs an API key" in result.output


def test_restart_keeps_the_table_and_reconciles(tmp_path: Path) -> None:
    from tests.fixtures.jobmanager import start_job_manager

    data = tmp_path / "jm"
    jm = start_job_manager(data)
    with jm.client() as client:
        finished = client.submit([PY, "-c", "print('done')"], name="finished")
        client.wait(finished["id"], timeout=30)
        survivor = client.submit([PY, "-c", "import time; time.sleep(120)"], name="survivor")
        quick = client.submit([PY, "-c", "import time; time.sleep(1.0); raise SystemExit(4)"],
                              name="ends-while-down")
    jm.shutdown(stop_jobs=False)  # the job manager goes away, its jobs keep running
    # a job whose process vanished without an exit code (e.g. the machine rebooted)
    from sage.kernel.jobmanager.store import JobRecord, JobStatus, JobStore

    store = JobStore(data / "jobs.db")
    store.add(JobRecord(id="job-ghost", name="ghost", entrypoint=["x"],
                        status=JobStatus.RUNNING, pid=2 ** 22 + 12345))
    store.close()
    deadline = time.monotonic() + 20
    while process_running(quick["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)

    jm2 = start_job_manager(data)
    try:
        with jm2.client() as client:
            jobs = {j["name"]: j for j in client.list()}
            assert set(jobs) == {"finished", "survivor", "ends-while-down", "ghost"}
            assert jobs["finished"]["status"] == "succeeded"
            assert jobs["ends-while-down"]["status"] == "failed"
            assert jobs["ends-while-down"]["exit_code"] == 4  # from the runner's exit file
            assert jobs["ghost"]["status"] == "failed"
            assert "exit code unknown" in jobs["ghost"]["message"]
            assert jobs["survivor"]["status"] == "running"  # still alive: re-watched
            client.stop(survivor["id"])
            assert client.wait(survivor["id"], timeout=30)["status"] == "stopped"
    finally:
        jm2.shutdown(stop_jobs=True)
    assert not os.path.exists(f"/proc/{survivor['pid']}") or not process_running(survivor["pid"])
