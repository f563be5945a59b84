"""A real job manager (uvicorn in a thread, ephemeral port, temp data dir)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sage.common.ports import ephemeral_port
from sage.kernel.jobmanager.client import JobManagerClient
from sage.kernel.jobmanager.manager import JobManager

API_KEY = "test-key"


@dataclass
class RunningJobManager:
    url: str
    manager: JobManager
    data_dir: Path
    server: object
    thread: threading.Thread

    def client(self, api_key: str | None = API_KEY) -> JobManagerClient:
        return JobManagerClient(self.url, api_key)

    def shutdown(self, stop_jobs: bool = False) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(10)
        self.manager.shutdown(stop_jobs=stop_jobs)


def start_job_manager(data_dir: Path, api_key: str | None = API_KEY) -> RunningJobManager:
    import uvicorn

    from sage.kernel.jobmanager.server import create_app

    manager = JobManager(data_dir)
    port = ephemeral_port()
    config = uvicorn.Config(create_app(manager, api_key), host="127.0.0.1", port=port,
                            log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("job manager did not start")
        time.sleep(0.02)
    return RunningJobManager(f"http://127.0.0.1:{port}", manager, data_dir, server, thread)


@pytest.fixture
def job_manager(tmp_path: Path) -> Iterator[RunningJobManager]:
    jm = start_job_manager(tmp_path / "jm")
    yield jm
    jm.shutdown(stop_jobs=True)
