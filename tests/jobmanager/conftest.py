"""``job_manager``: a real job manager per test (see tests/fixtures/jobmanager.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.jobmanager import RunningJobManager, start_job_manager


@pytest.fixture
def job_manager(tmp_path: Path) -> Iterator[RunningJobManager]:
    jm = start_job_manager(tmp_path / "jm")
    yield jm
    jm.shutdown(stop_jobs=True)
