"""A pipeline run with ``SAGE_JOB_PROGRESS_FILE`` set publishes its graph and counters
(what the job manager serves as ``GET /jobs/ID/graph`` and the studio draws)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from sage.kernel import LocalEnvironment
from sage.kernel.core.progress import PROGRESS_ENV


def test_a_pipeline_reports_its_plan_and_counters(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "job.progress.json"
    monkeypatch.setenv(PROGRESS_ENV, str(path))
    env = LocalEnvironment("progress_demo")
    env.from_batch(range(100)).map(lambda x: x + 1).filter(lambda x: x % 2 == 0).sink(
        lambda x: None)
    env.submit(autostop=True)
    deadline = time.monotonic() + 10
    while True:  # written by a background thread within INTERVAL_S
        report = json.loads(path.read_text()) if path.exists() else {"pipelines": []}
        if report["pipelines"] and report["pipelines"][0]["status"] == "finished":
            break
        assert time.monotonic() < deadline, report
        time.sleep(0.05)
    (pipeline,) = report["pipelines"]
    assert pipeline["job"] == "progress_demo"
    assert pipeline["status"] == "finished"
    chained = [op for s in pipeline["plan"]["stages"] for op in s["operators"]]
    assert chained == ["source", "map", "filter", "sink"]
    operators = pipeline["metrics"]["operators"]
    assert operators["source"]["records_out"] == 100
    assert operators["filter"]["records_out"] == 50
    assert pipeline["channel_capacity"] >= 1


def test_nothing_is_written_without_the_variable(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROGRESS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    LocalEnvironment("quiet").from_batch([1, 2]).sink(lambda x: None)
    assert not list(tmp_path.iterdir())
