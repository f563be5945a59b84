"""The studio in a real browser against the real gateway (default engines) and a job
manager: every page loads, charts move, a chat streams, a job's graph counts, two
benchmark runs sit side by side, and a stopped service shows as down."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sage.common.admin_token import read_admin_token
from sage.common.ports import ephemeral_port
from sage.kernel.jobmanager.client import JobManagerClient
from sage.studio.config import StudioConfig
from sage.studio.server import start_in_thread
from tests.fixtures.studio import SCREENSHOTS

pytestmark = pytest.mark.engines

PIPELINE = textwrap.dedent("""
    import time
    from sage.kernel import LocalEnvironment, MapFunction

    class Slow(MapFunction):
        def execute(self, x):
            time.sleep(0.002)
            return x * 2

    env = LocalEnvironment("studio_pipe", config={"batch_size": 8})
    env.from_batch(range(200000)).map(Slow, parallelism=2).filter(
        lambda x: x % 3 == 0).sink(lambda x: None)
    print("pipeline started", flush=True)
    env.submit(autostop=True)
""")

PERF = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const mark = performance.getEntriesByName('sage-meaningful')[0];
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {transfer_bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0),
          resources: res.length, meaningful_ms: mark ? mark.startTime : null,
          fcp_ms: fcp ? fcp.startTime : null};
}"""


def shot(page: Any, name: str) -> Path:
    path = SCREENSHOTS / f"studio-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def updates(page: Any, label: str) -> int:
    return int(page.get_attribute(f"canvas[aria-label='{label}']", "data-updates"))


def test_overview_shows_engines_and_live_charts(page: Any, studio_url: str,
                                                gateway_url: str) -> None:
    page.goto(f"{studio_url}/#/overview")
    page.wait_for_function("document.getElementById('page').dataset.painted === '1'")
    perf = page.evaluate(PERF)
    (SCREENSHOTS / "studio-overview-perf.json").write_text(json.dumps(perf))
    assert perf["transfer_bytes"] < 1_000_000
    page.wait_for_selector("#engines table tr:nth-child(3)")  # header + two engines
    cards = page.inner_text("#service-cards")
    assert "gateway" in cards.lower() and "down" not in cards.lower()
    before = updates(page, "Requests / s")
    with httpx.Client(base_url=gateway_url) as client:  # traffic for the charts
        for _ in range(3):
            client.post("/v1/embeddings", json={"model": "default", "input": ["hello"]})
    page.wait_for_function(
        "n => Number(document.querySelector(\"canvas[aria-label='Requests / s']\")"
        ".dataset.updates) >= n", arg=before + 2)
    assert "embedding" in page.inner_text("#engines")
    shot(page, "overview")


def test_policy_switch_needs_the_admin_token(page: Any, studio_url: str,
                                             gateway_url: str) -> None:
    page.goto(f"{studio_url}/#/overview")
    page.wait_for_selector("#policy-select option", state="attached")
    options = page.eval_on_selector_all("#policy-select option", "os => os.map(o => o.value)")
    assert "fifo" in options
    token = read_admin_token()
    if token:  # the gateway guards /admin/*: without the token the switch is refused
        page.select_option("#policy-select", "fifo")
        page.click("#policy-apply")
        page.wait_for_function("document.getElementById('policy-msg').className === 'down'")
        page.fill("#admin-token", token)
        page.dispatch_event("#admin-token", "change")
    page.select_option("#policy-select", "fifo")
    page.click("#policy-apply")
    page.wait_for_selector("#policy-msg.up")
    assert httpx.get(f"{gateway_url}/health").json()["policy"] == "fifo"
    page.wait_for_function("document.getElementById('policy-name').textContent === 'fifo'")
    shot(page, "policy")
    page.select_option("#policy-select", "hybrid")  # the session's gateway runs hybrid
    page.click("#policy-apply")
    page.wait_for_function("document.getElementById('policy-msg').textContent.includes('hybrid')")


def test_playground_streams_a_chat_and_embeds(page: Any, studio_url: str) -> None:
    page.goto(f"{studio_url}/#/playground")
    page.wait_for_selector("#chat-model option", state="attached")
    page.wait_for_selector("#pg-policy")
    page.fill("#chat-input", "Name three primary colors.")
    page.fill("#temperature", "0")  # greedy: the same answer on every run
    page.click("#chat-send")
    page.wait_for_function(
        "Number(document.getElementById('chat-output').dataset.chunks || 0) >= 3")
    page.wait_for_function("document.getElementById('chat-stats').textContent.includes('TTFT')")
    assert page.inner_text("#chat-output").strip()
    snippet = page.inner_text("#snippet")
    assert "curl -N" in snippet and "client.chat.completions.create" in snippet
    assert "X-SAGE-Tenant: playground" in snippet
    page.click("#emb-send")
    page.wait_for_function("document.getElementById('emb-output').textContent.includes('dims')")
    assert "384 dims" in page.inner_text("#emb-output")
    shot(page, "playground")


def test_job_graph_counters_move_then_stop(page: Any, studio_url: str, jobmanager_url: str,
                                           tmp_path: Path) -> None:
    script = tmp_path / "pipe.py"
    script.write_text(PIPELINE)
    with JobManagerClient(jobmanager_url) as jm:
        job = jm.submit(["python", str(script)], name="studio-pipe")
        page.goto(f"{studio_url}/#/jobs")
        page.wait_for_selector(f"a[href='#/jobs/{job['id']}']")
        page.click(f"a[href='#/jobs/{job['id']}']")
        page.wait_for_selector("svg.graph g.node")
        out = "span[data-op='Slow'][data-field='out']"
        page.wait_for_selector(out)
        first = int(page.inner_text(out))
        page.wait_for_function(
            f"n => Number(document.querySelector(\"{out}\").textContent) > n", arg=first)
        page.wait_for_function("document.getElementById('log').textContent.includes('started')")
        stages = page.eval_on_selector_all("svg.graph g.node", "ns => ns.map(n => n.dataset.stage)")
        assert len(stages) >= 2
        shot(page, "job")
        token = read_admin_token()
        if token:
            page.fill("#admin-token", token)
            page.dispatch_event("#admin-token", "change")
        page.click("#job-head button[data-action='stop']")
        page.wait_for_selector("a[href^='#/jobs/']")  # back on the list
        assert jm.wait(job["id"], timeout=30)["status"] == "stopped"


def test_benchmarks_side_by_side(page: Any, studio_url: str) -> None:
    page.goto(f"{studio_url}/#/benchmarks")
    page.wait_for_selector("input[data-run]")
    runs = page.eval_on_selector_all("input[data-run]", "xs => xs.map(x => x.dataset.run)")
    assert set(runs) == {"compare-20261204-100000", "agent"}
    for run in runs:
        page.check(f"input[data-run='{run}']")
    page.click("#compare")
    page.wait_for_selector("#run-columns .run iframe")
    page.wait_for_function("document.querySelectorAll('#run-columns iframe').length === 2")
    text = page.inner_text("#run-columns")
    assert "sage-hybrid" in text and "keyword" in text
    frame = page.frame_locator("#run-columns iframe").first
    assert "report" in frame.locator("h1").inner_text()
    shot(page, "benchmarks")


def test_down_services_show_as_down(page: Any, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{ephemeral_port()}"
    server = start_in_thread(StudioConfig(gateway_url=dead, jobmanager_url=dead,
                                          results_dir=tmp_path))
    try:
        page.goto(f"{server.url}/#/overview")
        page.wait_for_selector("#alerts .banner")
        assert "down" in page.inner_text("#alerts")
        shot(page, "down")
        page.goto(f"{server.url}/#/jobs")
        page.wait_for_selector("#jobs .banner")
        assert "not reachable" in page.inner_text("#jobs")
        start = time.monotonic()
        response = httpx.post(f"{server.url}/api/policy", json={"name": "fifo"},
                              headers={"Origin": "https://evil.example"})
        assert response.status_code == 403  # the shared Host/Origin guard
        assert time.monotonic() - start < 30
    finally:
        server.stop()
