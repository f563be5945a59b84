"""A closed-loop HTTP load generator: ``concurrency`` clients, ``total`` requests."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class LoadResult:
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    errors: int = 0
    units: int = 0  # tokens or items, when the caller counts them

    @property
    def ok(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        return self.ok / self.wall_s if self.wall_s else 0.0

    @property
    def units_per_s(self) -> float:
        return self.units / self.wall_s if self.wall_s else 0.0

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies_s) * 1000 if self.latencies_s else float("nan")

    @property
    def p99_ms(self) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


Post = Callable[[str, dict[str, Any]], Awaitable[int]]


@asynccontextmanager
async def _client(
    kind: str, url: str, concurrency: int, timeout: float
) -> AsyncIterator[tuple[Post, tuple[type[BaseException], ...]]]:
    """``post(path, body) -> status`` on one pooled client, and its transport errors."""
    if kind == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:

            async def post_httpx(path: str, body: dict[str, Any]) -> int:
                return (await client.post(path, json=body)).status_code

            yield post_httpx, (httpx.HTTPError,)
        return
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        url, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as session:

        async def post_aiohttp(path: str, body: dict[str, Any]) -> int:
            async with session.post(path, json=body) as response:
                await response.read()
                return response.status

        yield post_aiohttp, (aiohttp.ClientError, TimeoutError)


async def run_load(
    url: str,
    path: str,
    make_body: Callable[[int], dict[str, Any]],
    *,
    total: int,
    concurrency: int,
    warmup: int = 0,
    timeout: float = 120.0,
    client: str = "aiohttp",
) -> LoadResult:
    """POST ``total`` bodies with ``concurrency`` workers on one pooled client, after
    ``warmup`` untimed ones.

    ``client="aiohttp"`` is the lean generator (so the server side dominates what is
    measured); ``"httpx"`` is what the openai SDK uses, heavier per call.
    """
    async with _client(client, url, concurrency, timeout) as (post, transport_errors):
        for i in range(warmup):
            await post(path, make_body(i))
        result = LoadResult()
        counter = iter(range(total))

        async def worker() -> None:
            for i in counter:
                start = time.perf_counter()
                try:
                    status = await post(path, make_body(i))
                except transport_errors:
                    result.errors += 1
                    continue
                if status == 200:
                    result.latencies_s.append(time.perf_counter() - start)
                else:
                    result.errors += 1

        start = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        result.wall_s = time.perf_counter() - start
    return result


async def stream_tokens(url: str, body: dict[str, Any], timeout: float = 300.0) -> LoadResult:
    """Stream one chat completion; counts content chunks (one per token) and their rate
    from the first token on."""
    import json

    result = LoadResult()
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as client:
        start = time.perf_counter()
        first: float | None = None
        async with client.stream("POST", "/v1/chat/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:]).get("choices") or [{}]
                if choices[0].get("delta", {}).get("content"):
                    if first is None:
                        first = time.perf_counter()
                    result.units += 1
        end = time.perf_counter()
    result.latencies_s.append(end - start)
    result.wall_s = end - (first or start)
    return result
