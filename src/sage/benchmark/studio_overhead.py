"""What watching costs: the gateway's p50 at a steady request rate with the studio's
overview open (one SSE subscriber, so the studio samples ``/health`` and ``/metrics``
every second) vs closed (the studio idles: it samples only while a page listens).

The gateway and the studio each run in their own process (``sage llm serve`` and ``sage
studio start``), over a fake engine with a fixed service time (real HTTP), so the
gateway's own cost is what moves. Phases are interleaved (closed/open, then open/closed)
over ``repeats``; the figures are medians, with the spread of the repeats as the noise.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from sage.common.ports import DEFAULT_HOST, ephemeral_port
from sage.gateway.stack import ServingStack
from sage.llm.engine_manager import EngineManager
from sage.llm.engines.spec import EngineSpec

CHAT_BODY = {"model": "default", "messages": [{"role": "user", "content": "hi"}],
             "max_tokens": 4}


@dataclass
class Phase:
    studio_open: bool
    p50_ms: float
    p99_ms: float
    sent: int
    errors: int
    achieved_rps: float
    studio_events_per_s: float | None = None


@dataclass
class StudioOverhead:
    rate: float
    duration_s: float
    engine_latency_ms: float
    closed_p50_ms: float = 0.0
    open_p50_ms: float = 0.0
    p50_increase: float = 0.0  # open / closed - 1 (target <= 0.05)
    closed_p50_spread_ms: float = 0.0  # max - min over repeats: the noise floor
    open_p50_spread_ms: float = 0.0
    studio_events_per_s: float = 0.0  # target >= 1
    errors: int = 0
    phases: list[Phase] = field(default_factory=list)
    live_bytes: dict[str, int] = field(default_factory=dict)  # the SSE stream a page opens
    paint: dict[str, float] = field(default_factory=dict)  # medians of the page loads
    paint_runs: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


async def _paced_load(url: str, rate: float, duration_s: float) -> tuple[list[float], int]:
    """Open loop: request i leaves at ``i / rate`` whatever the answers do."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=url, timeout=30.0, limits=limits) as client:

        async def one() -> None:
            nonlocal errors
            start = time.perf_counter()
            try:
                response = await client.post("/v1/chat/completions", json=CHAT_BODY)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - start)
            else:
                errors += 1

        for _ in range(20):  # warm the pool
            await one()
        latencies.clear()
        t0 = time.perf_counter()
        tasks = []
        for i in range(int(rate * duration_s)):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies, errors


class _Watcher:
    """An open overview page, reduced to what loads the studio: its SSE stream."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="studio-watcher")

    def _run(self) -> None:
        with httpx.stream("GET", self.url, timeout=None) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    self.times.append(time.monotonic())
                if self._stop.is_set():
                    return

    def __enter__(self) -> _Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def events_per_s(self, since: float) -> float:
        times = [t for t in self.times if t >= since]
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


def _phase(gateway: str, live_url: str | None, rate: float, duration_s: float) -> Phase:
    def measure() -> tuple[list[float], int, float]:
        start = time.monotonic()
        latencies, errors = asyncio.run(_paced_load(gateway, rate, duration_s))
        return latencies, errors, start

    events = None
    if live_url is None:
        latencies, errors, _ = measure()
    else:
        with _Watcher(live_url) as watcher:
            time.sleep(2.0)  # the studio's sampler is running before the load starts
            latencies, errors, start = measure()
            events = watcher.events_per_s(start)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] if ordered else float("nan")
    return Phase(
        studio_open=live_url is not None,
        p50_ms=statistics.median(latencies) * 1000 if latencies else float("nan"),
        p99_ms=p99 * 1000, sent=len(latencies) + errors, errors=errors,
        achieved_rps=len(latencies) / duration_s, studio_events_per_s=events,
    )


def _start_studio(gateway_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = ephemeral_port()
    dead = f"http://{DEFAULT_HOST}:{ephemeral_port()}"  # no job manager: it shows as down
    cmd = [sys.executable, "-m", "sage.cli.main", "studio", "start", "--gateway-url",
           gateway_url, "--jobmanager-url", dead, "--port", str(port)]
    process = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL)
    url = f"http://{DEFAULT_HOST}:{port}"
    end = time.monotonic() + 60
    while time.monotonic() < end:
        if process.poll() is not None:
            raise RuntimeError(f"the studio exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/api/config", timeout=1.0).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise TimeoutError("the studio did not start within 60 s")


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
PAINT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  return {meaningful_ms: performance.getEntriesByName('sage-meaningful')[0].startTime,
          first_contentful_paint_ms: fcp ? fcp.startTime : -1,
          transfer_bytes: nav.transferSize + res.reduce((s, r) => s + r.transferSize, 0)};
}"""


def measure_live_bytes(url: str, events: int = 4) -> dict[str, int]:
    """Bytes a page receives on the live stream: the first event (the recent history)
    and the median of the next ``events`` (one per second)."""
    sizes: list[int] = []
    with httpx.stream("GET", url, timeout=30.0) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                sizes.append(len(line.encode()) + 2)
                if len(sizes) > events:
                    break
    return {"first_event": sizes[0], "event_median": int(statistics.median(sizes[1:]))}


def measure_paint(studio_url: str, loads: int = 5) -> list[dict[str, float]]:
    """Cold loads of the overview in a fresh headless Chromium each (Debian's chromium,
    Playwright): first contentful paint, first meaningful paint (engines and service
    status drawn from the first live event) and bytes transferred."""
    import tempfile

    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as p:
        for _ in range(loads):
            with tempfile.TemporaryDirectory(prefix="sage-paint-") as profile:
                context = p.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
                page = context.new_page()
                page.goto(f"{studio_url}/#/overview")
                page.wait_for_function("document.getElementById('page').dataset.painted")
                runs.append(page.evaluate(PAINT_JS))
                context.close()
    return runs


def run_studio_overhead(*, rate: float = 50.0, duration_s: float = 10.0, repeats: int = 3,
                        engine_latency_ms: float = 20.0, paint_loads: int = 0,
                        tick: Callable[[], None] = lambda: None) -> StudioOverhead:
    """Gateway p50 at ``rate`` req/s with the studio's overview open vs closed."""
    fake = EngineSpec(kind="both", backend="fake", capacity=256,
                      extra_args=["--latency-ms", str(engine_latency_ms)])
    result = StudioOverhead(rate=rate, duration_s=duration_s,
                            engine_latency_ms=engine_latency_ms)
    with EngineManager(persist=False) as manager:
        engine = manager.start(fake)
        with ServingStack(engines=[engine], policy="fifo", mode="process") as stack:
            studio, studio_url = _start_studio(stack.url)
            try:
                for repeat in range(repeats):
                    order = (False, True) if repeat % 2 == 0 else (True, False)
                    for studio_open in order:
                        live = f"{studio_url}/api/live" if studio_open else None
                        result.phases.append(_phase(stack.url, live, rate, duration_s))
                        tick()
                result.live_bytes = measure_live_bytes(f"{studio_url}/api/live")
                if paint_loads:
                    result.paint_runs = measure_paint(studio_url, paint_loads)
            finally:
                studio.terminate()
                studio.wait(10)
    closed = [p.p50_ms for p in result.phases if not p.studio_open]
    opened = [p.p50_ms for p in result.phases if p.studio_open]
    result.closed_p50_ms = statistics.median(closed)
    result.open_p50_ms = statistics.median(opened)
    result.p50_increase = result.open_p50_ms / result.closed_p50_ms - 1
    result.closed_p50_spread_ms = max(closed) - min(closed)
    result.open_p50_spread_ms = max(opened) - min(opened)
    result.studio_events_per_s = statistics.median(
        p.studio_events_per_s or 0.0 for p in result.phases if p.studio_open)
    result.errors = sum(p.errors for p in result.phases)
    if result.paint_runs:
        result.paint = {k: statistics.median(r[k] for r in result.paint_runs)
                        for k in result.paint_runs[0]}
    return result
