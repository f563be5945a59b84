"""Engines killed mid-request: the request is retried on another engine or gets a clean
503, and the engine manager restarts the engine."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable

import httpx

from sage.common.config import GatewaySettings
from sage.gateway.stack import ServingStack
from sage.llm.engine_manager import EngineManager, pid_alive
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import fake_stats, wait_until
from tests.fixtures.gateway import CHAT, slow, start_gateway

Factory = Callable[..., EngineInfo]


async def post_then_kill(url: str, victim: EngineInfo, body: dict[str, object]) -> httpx.Response:
    """Send ``body``; SIGKILL ``victim`` once the request is inside it; the reply."""
    assert victim.pid is not None
    pid = victim.pid
    before = fake_stats(victim)["requests"]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        pending = asyncio.ensure_future(client.post("/v1/chat/completions", json=body))
        await asyncio.to_thread(
            wait_until,
            lambda: fake_stats(victim)["requests"] > before,
            "the request to reach the engine",
        )
        os.kill(pid, signal.SIGKILL)
        return await pending


def engines_view(url: str) -> dict[str, dict[str, object]]:
    return {e["id"]: e for e in httpx.get(url + "/health").json()["engines"]}


async def test_killed_engine_request_retried_on_another_and_engine_restarted(
    fake_engine_factory: Factory, fake_engine_manager: EngineManager
) -> None:
    # Registered first, the slow engine gets the request; the fast one gets the retry.
    victim = fake_engine_factory(capacity=1, latency_ms=60_000)
    spare = fake_engine_factory(capacity=1)
    old_pid = victim.pid
    with ServingStack(engines=[victim, spare], engine_manager=fake_engine_manager) as stack:
        reply = await post_then_kill(stack.url, victim, CHAT)
        assert reply.status_code == 200, reply.text
        assert fake_stats(spare)["requests"] == 1  # answered by the spare
        assert engines_view(stack.url)[victim.id]["in_flight"] == 0
        await asyncio.to_thread(
            wait_until,
            lambda: engines_view(stack.url)[victim.id]["healthy"],
            "the killed engine to be restarted",
            60,
        )
        assert victim.restarts == 1 and victim.pid != old_pid and pid_alive(victim.pid)
        httpx.post(victim.url + "/fake/config", json={"latency_ms": 0}).raise_for_status()
        assert httpx.post(stack.url + "/v1/chat/completions", json=CHAT).status_code == 200


async def test_only_engine_killed_gives_clean_503_then_recovers(
    fake_engine_factory: Factory, fake_engine_manager: EngineManager
) -> None:
    engine = fake_engine_factory(capacity=1)
    no_grace = GatewaySettings(engine_down_grace_s=0)  # the wait: tests/gateway/test_engine_loss
    with ServingStack(
        engines=[engine], engine_manager=fake_engine_manager, settings=no_grace
    ) as stack:
        reply = await post_then_kill(stack.url, engine, slow(CHAT, 60_000))
        assert reply.status_code == 503
        error = reply.json()["error"]
        assert error["code"] == "engine_unavailable" and error["type"] == "server_error"
        assert "retry-after" in reply.headers
        await asyncio.to_thread(
            wait_until,
            lambda: engines_view(stack.url)[engine.id]["healthy"],
            "the killed engine to be restarted",
            60,
        )
        assert engine.restarts == 1
        assert httpx.post(stack.url + "/v1/chat/completions", json=CHAT).status_code == 200


async def test_dead_engine_without_manager_stays_down_with_503(
    fake_engine_factory: Factory,
) -> None:
    engine = fake_engine_factory(capacity=1)
    gw = start_gateway([engine], engine_down_grace_s=0)
    try:
        reply = await post_then_kill(gw.url, engine, slow(CHAT, 60_000))
        assert reply.status_code == 503
        again = httpx.post(gw.url + "/v1/embeddings", json={"input": "x"})
        assert again.status_code == 503 and again.json()["error"]["code"] == "engine_unavailable"
        health = httpx.get(gw.url + "/health").json()
        assert health["status"] == "degraded" and not health["engines"][0]["healthy"]
    finally:
        gw.stop()


async def test_engine_killed_mid_stream_ends_stream_with_error_event(
    fake_engine_factory: Factory,
) -> None:
    engine = fake_engine_factory(capacity=1, tokens=200, token_delay_ms=20)
    assert engine.pid is not None
    gw = start_gateway([engine])
    try:
        lines: list[str] = []
        async with (
            httpx.AsyncClient(base_url=gw.url, timeout=60) as client,
            client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as r,
        ):
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    lines.append(line)
                    if len(lines) == 3:
                        os.kill(engine.pid, signal.SIGKILL)
        assert len(lines) < 200 and '"engine_failed"' in lines[-1]
        health = httpx.get(gw.url + "/health").json()
        assert not health["engines"][0]["healthy"]
        assert health["engines"][0]["in_flight"] == 0
    finally:
        gw.stop()


async def test_engine_5xx_is_retried_on_another_engine(fake_engine_factory: Factory) -> None:
    failing = fake_engine_factory(capacity=1)
    healthy = fake_engine_factory(capacity=1)
    httpx.post(failing.url + "/fake/config", json={"fail_status": 503}).raise_for_status()
    gw = start_gateway([failing, healthy])
    try:
        reply = httpx.post(gw.url + "/v1/chat/completions", json=CHAT)
        assert reply.status_code == 200
        assert fake_stats(failing)["requests"] >= 1 and fake_stats(healthy)["requests"] == 1
    finally:
        gw.stop()
