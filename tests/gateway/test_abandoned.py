"""Abandoned requests (issue 18 item 4): a client that disconnects takes its request out
of the queue, and its running call out of the engine (the upstream connection closes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import RealEngines, fake_stats, wait_until
from tests.fixtures.gateway import CHAT, slow, start_gateway

LONG = {
    "messages": [{"role": "user", "content": "Count to a thousand."}],
    "max_tokens": 1500,
    "ignore_eos": True,  # decodes all 1500 tokens unless cancelled
}


def view(url: str) -> dict[str, Any]:
    return httpx.get(url + "/health").json()


def idle(url: str) -> bool:
    state = view(url)
    return state["queue_depth"] == 0 and all(e["in_flight"] == 0 for e in state["engines"])


async def test_abandoned_requests_leave_the_queue_and_the_engine(
    real_engines: RealEngines,
) -> None:
    gw = start_gateway([real_engines.llm], policy="fifo")  # capacity 1: one runs, 4 queue
    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=120) as client:
            calls = [
                asyncio.ensure_future(
                    client.post("/v1/chat/completions", json={**LONG, "stream": True})
                )
                for _ in range(5)
            ]
            await asyncio.to_thread(
                wait_until, lambda: view(gw.url)["queue_depth"] == 4, "1 running, 4 queued"
            )
            for call in calls:
                call.cancel()  # every client disconnects
            await asyncio.gather(*calls, return_exceptions=True)
            await asyncio.to_thread(wait_until, lambda: idle(gw.url), "an idle gateway")
            reply = await client.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
            )
        assert reply.status_code == 200, reply.text
        assert idle(gw.url)
    finally:
        gw.stop()


async def test_abandoned_running_call_frees_its_engine_slot(
    fake_engine_factory: Callable[..., EngineInfo],
) -> None:
    engine = fake_engine_factory(capacity=1, latency_ms=60_000)  # answers in a minute
    gw = start_gateway([engine], policy="fifo")
    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=120) as client:
            call = asyncio.ensure_future(client.post("/v1/chat/completions", json=CHAT))
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["requests"] == 1, "the call to run"
            )
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            await asyncio.to_thread(wait_until, lambda: idle(gw.url), "a free engine slot")
            reply = await client.post("/v1/chat/completions", json=slow(CHAT, 0))
        assert reply.status_code == 200, reply.text
    finally:
        gw.stop()


async def test_abandoned_non_streamed_call_stops_decoding_in_the_llama_engine(
    real_engines: RealEngines,
) -> None:
    engine = real_engines.llm
    gw = start_gateway([engine], policy="fifo")
    body = {**LONG, "n": 8}  # 8 x 1500 tokens: minutes of decoding unless it stops
    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=300) as client:
            call = asyncio.ensure_future(client.post("/v1/chat/completions", json=body))
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["free_slots"] == 0, "decoding to start"
            )
            call.cancel()  # the client disconnects
            await asyncio.gather(call, return_exceptions=True)
            slots = fake_stats(engine)["slots"]
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["free_slots"] == slots, "a free engine"
            )
        assert idle(gw.url)
    finally:
        gw.stop()
