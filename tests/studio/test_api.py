"""The studio's API without a browser: down services answer JSON, the shared guard
applies, results stay inside their folder, and the sampler stops with its last page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sage.common.ports import ephemeral_port
from sage.studio.config import StudioConfig
from sage.studio.server import start_in_thread


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    dead = f"http://127.0.0.1:{ephemeral_port()}"
    results = tmp_path_factory.mktemp("results")
    (results / "run-a").mkdir()
    (results / "run-a" / "summary.json").write_text('{"title": "sage bench simulate", '
                                                    '"rows": [{"rate": 1}]}')
    server = start_in_thread(StudioConfig(gateway_url=dead, jobmanager_url=dead,
                                          results_dir=results))
    try:
        yield server
    finally:
        server.stop()


def test_a_down_service_is_json_503(studio: Any) -> None:
    for path in ("/api/jobs", "/api/health", "/api/v1/models", "/api/policy"):
        response = httpx.get(studio.url + path)
        assert response.status_code == 503, path
        assert response.json()["down"] is True
    chat = httpx.post(studio.url + "/api/v1/chat/completions", json={"model": "x"})
    assert chat.status_code == 503 and "not reachable" in chat.json()["detail"]


def test_the_shared_guard_protects_the_studio(studio: Any) -> None:
    evil = httpx.post(studio.url + "/api/policy", json={"name": "fifo"},
                      headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403
    form = httpx.post(studio.url + "/api/jobs/x/stop", content=b"a=1",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 415
    rebound = httpx.get(studio.url + "/api/config", headers={"Host": "attacker.example"})
    assert rebound.status_code == 403


def test_results_stay_inside_their_folder(studio: Any) -> None:
    runs = httpx.get(studio.url + "/api/bench/runs").json()["runs"]
    assert [(r["path"], r["kind"]) for r in runs] == [("run-a", "simulate")]
    summary = httpx.get(studio.url + "/api/bench/summary", params={"path": "run-a"}).json()
    assert summary["rows"] == [{"rate": 1}]
    outside = httpx.get(studio.url + "/api/bench/summary", params={"path": "../.."})
    assert outside.status_code == 404
    assert httpx.get(studio.url + "/results/run-a/summary.json").status_code == 200
    assert httpx.get(studio.url + "/results/../../etc/passwd").status_code == 404


def test_the_sampler_runs_only_while_a_page_listens(studio: Any) -> None:
    feed = studio.call(lambda: studio.server.config.app.state.studio.feed)
    with httpx.stream("GET", studio.url + "/api/live", timeout=10) as response:
        events = 0
        for line in response.iter_lines():
            if line.startswith("data:"):
                events += 1
            if events == 2:  # the history, then a live sample
                break
    deadline = time.monotonic() + 10
    while feed._task is not None and not feed._task.done():
        assert time.monotonic() < deadline, "the sampler kept running with no page open"
        time.sleep(0.1)


def test_the_ui_is_served_as_package_data(studio: Any) -> None:
    index = httpx.get(studio.url + "/")
    assert index.status_code == 200 and "SAGE Studio" in index.text
    for asset in ("app.js", "api.js", "chart.js", "style.css", "favicon.svg",
                  "pages/overview.js", "pages/jobs.js", "pages/playground.js",
                  "pages/benchmarks.js"):
        assert httpx.get(f"{studio.url}/{asset}").status_code == 200, asset
