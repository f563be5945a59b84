"""The soak's client: open-loop mixed traffic (chat, streamed chat, embeddings) at a
fixed rate, every reply checked and counted; bounded in time, count and connections."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

KINDS = ("chat", "stream", "embedding")


@dataclass
class Traffic:
    rate: float  # requests per second offered, all kinds
    duration_s: float
    shares: dict[str, float]  # kind -> share of the rate
    llm_model: str
    embedding_model: str
    max_outstanding: int = 3000  # client-side bound: beyond it an arrival is skipped
    timeout_s: float = 120.0
    seed: int = 0
    embed_inputs: int = 4  # texts per embedding request


@dataclass
class TrafficResult:
    sent: int = 0
    skipped: int = 0  # arrivals over the client's outstanding bound (not sent)
    status: Counter[str] = field(default_factory=Counter)  # "chat:200", "embedding:429"...
    bad_shape: Counter[str] = field(default_factory=Counter)  # replies of the wrong form
    lost: Counter[str] = field(default_factory=Counter)  # no reply: reset, timeout
    latencies: dict[str, list[float]] = field(default_factory=dict)  # "chat:200" -> s
    send_s: float = 0.0  # how long sending took (vs the planned duration)
    send_lag_s: list[float] = field(default_factory=list)  # how late each send was
    drain_s: float = 0.0  # from the last send to the last reply

    def count(self, kind: str, status: int | str, seconds: float) -> None:
        key = f"{kind}:{status}"
        self.status[key] += 1
        self.latencies.setdefault(key, []).append(seconds)


def _error_shape_ok(body: bytes) -> bool:
    """OpenAI's error body: ``{"error": {"message": str, "type": str, "code": ...}}``."""
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error.get("message"), str) and isinstance(error.get("type"), str)


def _reply_ok(kind: str, status: int, body: bytes, n_inputs: int) -> bool:
    if status == 429:
        return _error_shape_ok(body)
    if status != 200:
        return True  # counted by status; its shape is not the question
    if kind == "stream":
        return body.rstrip().endswith(b"data: [DONE]") and b'"choices"' in body
    if kind == "chat":
        return b'"choices"' in body
    return body.count(b'"embedding":') == n_inputs


async def run_traffic(url: str, traffic: Traffic) -> TrafficResult:
    """Send Poisson arrivals at ``traffic.rate`` for ``duration_s``, then wait for every
    reply (each bounded by ``timeout_s``)."""
    rng = random.Random(traffic.seed)
    kinds = list(traffic.shares)
    weights = [traffic.shares[k] for k in kinds]
    result = TrafficResult()
    outstanding: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=traffic.timeout_s)

    def body(kind: str, i: int) -> dict[str, Any]:
        if kind == "embedding":
            texts = [f"soak sentence {i}-{j} about lighthouses" for j in range(traffic.embed_inputs)]
            return {"model": traffic.embedding_model, "input": texts}
        return {
            "model": traffic.llm_model,
            "messages": [{"role": "user", "content": f"soak request {i}: say something"}],
            "max_tokens": 16,
            "stream": kind == "stream",
        }

    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:

        async def one(kind: str, i: int) -> None:
            path = "/v1/embeddings" if kind == "embedding" else "/v1/chat/completions"
            start = time.perf_counter()
            try:
                async with session.post(path, json=body(kind, i)) as response:
                    data = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                result.lost[f"{kind}:{type(exc).__name__}"] += 1
                return
            result.count(kind, status, time.perf_counter() - start)
            if not _reply_ok(kind, status, data, traffic.embed_inputs):
                result.bad_shape[f"{kind}:{status}"] += 1

        loop = asyncio.get_running_loop()
        begin = loop.time()
        at = begin
        limit = int(traffic.rate * traffic.duration_s * 2) + 10  # count bound, whatever the rng
        for i in range(limit):
            at += rng.expovariate(traffic.rate)
            if at - begin >= traffic.duration_s:
                break
            delay = at - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = rng.choices(kinds, weights)[0]
            result.send_lag_s.append(max(0.0, loop.time() - at))
            if len(outstanding) >= traffic.max_outstanding:
                result.skipped += 1
                continue
            task = loop.create_task(one(kind, i))
            outstanding.add(task)
            task.add_done_callback(outstanding.discard)
            result.sent += 1
        sent_at = loop.time()
        result.send_s = sent_at - begin
        if outstanding:
            await asyncio.wait(set(outstanding), timeout=traffic.timeout_s + 10)
        result.drain_s = loop.time() - sent_at
        for task in list(outstanding):  # none should be left: counted as lost if so
            task.cancel()
            result.lost["unfinished"] += 1
    return result
