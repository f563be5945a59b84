"""ONE sampler feeds every open overview page: once per interval it reads the gateway's
``/health`` and ``/metrics`` (and the job manager's ``/health``), turns them into live
figures and pushes the same JSON event to every SSE subscriber. It runs only while a
page listens, so a closed studio costs the gateway nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import httpx

from sage.common.logging import get_logger
from sage.studio.config import StudioConfig
from sage.studio.promstats import Scrape, live_figures, parse_scrape
from sage.studio.upstream import Upstream, UpstreamError

log = get_logger("sage.studio.live")

RATE_WINDOW_S = 3.0  # request rates: smooth over a few samples
QUANTILE_WINDOW_S = 15.0  # p50/p99 and SLO: enough requests for a p99
HISTORY = 120  # events replayed to a page that just opened (2 minutes at 1/s)
PREFIX_EVERY = 5  # engines' own /metrics (prefix cache) are read every N samples

# Prefix-cache counters engines report (vLLM v1 names; others add theirs here).
PREFIX_HITS = ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total")
PREFIX_QUERIES = ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total")


class LiveFeed:
    """Samples on demand and fans each event out to the subscribers' queues."""

    def __init__(self, config: StudioConfig, gateway: Upstream, jobmanager: Upstream) -> None:
        self.config = config
        self.gateway = gateway
        self.jobmanager = jobmanager
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self._scrapes: deque[Scrape] = deque()
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._task: asyncio.Task[None] | None = None
        self._prefix: dict[str, float | None] = {}
        self._ticks = 0
        self._engines = httpx.AsyncClient(timeout=1.0)  # no gateway key sent to engines

    # -- subscribers ------------------------------------------------------------------
    async def events(self) -> AsyncIterator[bytes]:
        """SSE bytes for one page: the recent history, then one event per sample."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=8)
        self._subscribers.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="studio-live")
        try:
            yield _sse({"history": [_chart_only(e) for e in self.history]}, "history")
            while True:
                yield _sse(await queue.get())
        finally:
            self._subscribers.discard(queue)

    def _publish(self, event: dict[str, Any]) -> None:
        self.history.append(event)
        for queue in self._subscribers:
            if queue.full():  # a slow page skips a sample rather than growing a backlog
                queue.get_nowait()
            queue.put_nowait(event)

    # -- sampling ---------------------------------------------------------------------
    async def _run(self) -> None:
        interval = self.config.sample_interval_s
        next_at = time.monotonic()
        while self._subscribers:
            try:
                self._publish(await self.sample())
            except Exception:  # noqa: BLE001 - the feed must outlive one bad sample
                log.exception("studio sample failed")
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        self._scrapes.clear()  # a later page must not diff against a stale scrape

    async def sample(self) -> dict[str, Any]:
        """One event: service status, engines, policy and the live figures."""
        now = time.time()
        health, metrics, jm_up = await asyncio.gather(
            self._get("/health"), self._get("/metrics", text=True), self.jobmanager.alive()
        )
        event: dict[str, Any] = {
            "t": now,
            "gateway": {"up": health is not None, "url": self.gateway.url},
            "jobmanager": {"up": jm_up, "url": self.jobmanager.url},
        }
        if isinstance(health, dict):
            event["gateway"].update(
                status=health.get("status"), policy=health.get("policy"),
                engines=health.get("engines", []),
            )
        if isinstance(metrics, str):
            scrape = parse_scrape(metrics, now)
            event.update(live_figures(
                scrape, self._base(now - RATE_WINDOW_S), self._base(now - QUANTILE_WINDOW_S),
                self.config.slo_ms / 1000,
            ))
            self._scrapes.append(scrape)
            while self._scrapes and self._scrapes[0].t < now - QUANTILE_WINDOW_S - 5:
                self._scrapes.popleft()
        else:
            self._scrapes.clear()
        if isinstance(health, dict) and self._ticks % PREFIX_EVERY == 0:
            self._prefix = await self._prefix_cache(health.get("engines", []))
        self._ticks += 1
        event["prefix_cache_hit_rate"] = self._prefix
        return event

    def _base(self, since: float) -> Scrape | None:
        """The newest scrape at least as old as ``since`` (else the oldest we have)."""
        base = None
        for scrape in self._scrapes:
            if scrape.t <= since:
                base = scrape
            else:
                break
        return base or (self._scrapes[0] if self._scrapes else None)

    async def _get(self, path: str, text: bool = False) -> Any:
        try:
            response = await self.gateway.request("GET", path)
        except UpstreamError:
            return None
        if response.status_code >= 400:
            return None
        return response.text if text else response.json()

    async def _prefix_cache(self, engines: list[dict[str, Any]]) -> dict[str, float | None]:
        """Hit rate per engine that reports prefix-cache counters on its ``/metrics``."""
        out: dict[str, float | None] = {}
        for engine in engines:
            url = engine.get("url")
            if not url:
                continue
            try:
                response = await self._engines.get(f"{url.rstrip('/')}/metrics")
            except Exception:  # noqa: BLE001 - an engine without /metrics reports nothing
                continue
            if response.status_code != 200:
                continue
            hits = _metric_sum(response.text, PREFIX_HITS)
            queries = _metric_sum(response.text, PREFIX_QUERIES)
            if queries:
                out[str(engine.get("id"))] = round(hits / queries, 4)
        return out

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._engines.aclose()


def _chart_only(event: dict[str, Any]) -> dict[str, Any]:
    """A past event as the charts need it: without the engine list (a page draws the
    engines from the next live event), so a page opening late loads little."""
    gateway = {k: v for k, v in event["gateway"].items() if k != "engines"}
    return {**event, "gateway": gateway}


def _metric_sum(text: str, names: tuple[str, ...]) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(names):
            with contextlib.suppress(ValueError, IndexError):
                total += float(line.rsplit(" ", 1)[1])
    return total


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
