"""Issue 23, items 5, 8 and 10 (and issue 20's interpreter): the job manager runs only
what its owner submits, keeps secrets out of its table, and stops whole jobs."""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sage.common.processes import process_running
from sage.kernel.jobmanager.client import JobManagerClient, JobManagerError
from tests.fixtures.admin import ADMIN
from tests.fixtures.jobmanager import RunningJobManager, start_job_manager

SECRET = "hunter2-very-secret"


@pytest.fixture
def keyless(tmp_path: Path) -> Iterator[RunningJobManager]:
    """The default: loopback, no API key (the admin token guards it)."""
    jm = start_job_manager(tmp_path / "jm", api_key=None)
    yield jm
    jm.shutdown(stop_jobs=True)


def test_browser_and_rebinding_cannot_submit(keyless: RunningJobManager, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    body = {"entrypoint": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"]}
    url = keyless.url + "/jobs"
    rebinding = httpx.post(url, json=body, headers={"Host": "attacker.example", **ADMIN})
    assert rebinding.status_code == 403 and rebinding.json()["code"] == "host_not_allowed"
    cross_site = httpx.post(url, json=body, headers={"Origin": "http://evil.example", **ADMIN})
    assert cross_site.status_code == 403
    plain = httpx.post(url, content=b"{}", headers={"Content-Type": "text/plain", **ADMIN})
    assert plain.status_code == 415
    no_token = httpx.post(url, json=body)
    assert no_token.status_code == 401 and "admin token" in no_token.json()["detail"]
    assert not marker.exists()
    with JobManagerClient(keyless.url) as client:  # SAGE's client reads the token file
        job = client.submit(["python", "-c", "import sys; print(sys.executable)"])
        done = client.wait(job["id"], timeout=30)
        assert done["status"] == "succeeded"
        assert client.logs(job["id"])["data"].strip() == sys.executable  # issue 20
        assert done["interpreter"] == sys.executable


def test_secrets_and_environment(keyless: RunningJobManager, tmp_path: Path) -> None:
    os.environ["SAGE_JOBMANAGER_API_KEY"] = "manager-secret-key"
    try:
        script = ("import os, json; print(json.dumps(sorted(os.environ)));"
                  "print(os.environ['DB_PASSWORD'])")
        with JobManagerClient(keyless.url) as client:
            job = client.submit([sys.executable, "-c", script], env={"DB_PASSWORD": SECRET})
            assert client.wait(job["id"], timeout=30)["status"] == "succeeded"
            out = client.logs(job["id"])["data"]
            names, secret = out.strip().splitlines()
            assert secret == SECRET  # the job got it
            assert "SAGE_JOBMANAGER_API_KEY" not in names and "HOME" in names
            shown = httpx.get(keyless.url + "/jobs", headers=ADMIN).text
            assert SECRET not in shown and "DB_PASSWORD" in shown
    finally:
        del os.environ["SAGE_JOBMANAGER_API_KEY"]
    db = keyless.data_dir / "jobs.db"
    assert SECRET.encode() not in b"".join(p.read_bytes() for p in db.parent.glob("jobs.db*"))
    for path in [db, *keyless.data_dir.glob("logs/*")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_huge_log_offset_is_400(keyless: RunningJobManager) -> None:
    with JobManagerClient(keyless.url) as client:
        job = client.submit([sys.executable, "-c", "print(1)"])
        r = httpx.get(f"{keyless.url}/jobs/{job['id']}/logs", params={"offset": 2**63},
                      headers=ADMIN)
    assert r.status_code == 400 and "offset" in r.json()["detail"]


def test_limits_are_applied(keyless: RunningJobManager) -> None:
    code = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE))"
    with JobManagerClient(keyless.url) as client:
        job = client.submit([sys.executable, "-c", code], limits={"open_files": 64})
        assert client.wait(job["id"], timeout=30)["status"] == "succeeded"
        assert client.logs(job["id"])["data"].strip() == "(64, 64)"
        with pytest.raises(JobManagerError, match="unknown limit"):
            client.submit([sys.executable, "-c", "pass"], limits={"gpus": 1})


def test_stop_reaches_setsid_grandchildren(keyless: RunningJobManager, tmp_path: Path) -> None:
    pid_file = tmp_path / "daemon.pid"
    daemon = ("import os, time, pathlib;"
              f"os.setsid(); pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid()));"
              "time.sleep(300)")
    code = ("import subprocess, sys, time;"
            f"subprocess.Popen([sys.executable, '-c', {daemon!r}]); time.sleep(300)")
    with JobManagerClient(keyless.url) as client:
        job = client.submit([sys.executable, "-c", code])
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        grandchild = int(pid_file.read_text())
        assert os.getsid(grandchild) != os.getsid(job["pid"])  # it left the job's session
        client.stop(job["id"])
        assert client.wait(job["id"], timeout=30)["status"] == "stopped"
    deadline = time.monotonic() + 15
    while process_running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_running(grandchild)
