"""One job manager, one studio and one headless Chromium (Debian's, driven by Playwright)
for the browser tests (module scope: torn down right after them), over the session's
real gateway (``gateway_url``)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sage.gateway.server import GatewayThread
from sage.kernel.jobmanager.manager import JobManager
from sage.kernel.jobmanager.server import create_app as jobmanager_app
from sage.studio.config import StudioConfig
from sage.studio.server import start_in_thread
from tests.fixtures.studio import SCREENSHOTS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def jobmanager_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    manager = JobManager(tmp_path_factory.mktemp("studio-jm"))
    server = GatewayThread(jobmanager_app(manager)).start()
    try:
        yield server.url
    finally:
        server.stop()
        manager.shutdown(stop_jobs=True)


def _write_runs(root: Path) -> None:
    """Two benchmark folders as `sage bench compare` and `sage bench agent` write them."""
    compare = root / "compare-20261204-100000"
    compare.mkdir(parents=True)
    (compare / "summary.json").write_text(json.dumps({
        "title": "sage bench compare", "config": {"rates": [2.0]},
        "rows": [{"baseline": "sage-hybrid", "rate": 2.0, "llm_p99_ms": 812.5,
                  "slo_attainment": 0.97}],
    }))
    (compare / "report.html").write_text("<h1>compare report</h1>")
    agent = root / "agent"
    agent.mkdir()
    (agent / "results.json").write_text(json.dumps({
        "config": {}, "summary": [{"strategy": "keyword", "accuracy": 0.61}],
    }))
    (agent / "report.html").write_text("<h1>agent report</h1>")


@pytest.fixture(scope="module")
def studio_url(gateway_url: str, jobmanager_url: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    results = tmp_path_factory.mktemp("studio-results")
    _write_runs(results)
    config = StudioConfig(gateway_url=gateway_url, jobmanager_url=jobmanager_url,
                          results_dir=results)
    server = start_in_thread(config)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh-profile headless Chromium; never `playwright install` (no downloads)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium",
                    pytrace=False)
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            headless=True, args=CHROMIUM_FLAGS, viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        page.close()

