"""Engine loss (issue 18 item 3): when the only engine of a model is killed, its requests
(in flight, queued and new) wait for the restart within the grace, then run; past the
grace they get 503 as before."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

import httpx

from sage.llm.engine_manager import EngineManager
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import fake_stats, wait_until
from tests.fixtures.gateway import CHAT, slow, start_gateway

Factory = Callable[..., EngineInfo]


async def test_requests_wait_for_the_restart_within_the_grace(
    fake_engine_factory: Factory, fake_engine_manager: EngineManager
) -> None:
    engine = fake_engine_factory(capacity=1)
    gw = start_gateway([engine], policy="fifo", engine_down_grace_s=60)  # nobody restarts it
    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=120) as client:
            calls = [
                asyncio.ensure_future(client.post("/v1/chat/completions", json=slow(CHAT, 500)))
                for _ in range(3)
            ]
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["requests"] == 1, "one call running"
            )
            assert engine.pid is not None
            os.kill(engine.pid, signal.SIGKILL)  # 1 in flight, 2 queued
            await asyncio.to_thread(
                wait_until,
                lambda: not httpx.get(gw.url + "/health").json()["engines"][0]["healthy"],
                "the engine to be marked down",
            )
            calls.append(asyncio.ensure_future(client.post("/v1/chat/completions", json=CHAT)))
            await asyncio.to_thread(fake_engine_manager.restart, engine.id)  # same port
            replies = await asyncio.gather(*calls)
        assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
    finally:
        gw.stop()


async def test_past_the_grace_requests_get_503(fake_engine_factory: Factory) -> None:
    engine = fake_engine_factory(capacity=1)
    gw = start_gateway([engine], policy="fifo", engine_down_grace_s=0.5)
    try:
        assert engine.pid is not None
        os.kill(engine.pid, signal.SIGKILL)
        async with httpx.AsyncClient(base_url=gw.url, timeout=60) as client:
            reply = await client.post("/v1/chat/completions", json=CHAT)
        assert reply.status_code == 503
        assert reply.json()["error"]["code"] == "engine_unavailable"
    finally:
        gw.stop()
