"""Issue 23, items 2 and 11: a tiny body cannot ask for gigabytes; overload has its own
429 code; oversize headers get a 431 (fake engine: no model needed)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from sage.common.config import GatewaySettings
from sage.common.security import InputLimits, SecuritySettings
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import fake_stats, wait_until
from tests.gateway.conftest import CHAT, Gateway, slow, start_gateway


def test_embedding_inputs_are_capped(fake_gateway: Gateway) -> None:
    """40,000 short strings (0.2 MB) once made a 325 MB answer: now a 400 at once."""
    r = httpx.post(fake_gateway.url + "/v1/embeddings", json={"input": ["a b"] * 40_000},
                   timeout=60)
    assert r.status_code == 400, r.text[:200]
    error = r.json()["error"]
    assert error["code"] == "input_too_large" and "max_embedding_inputs" in error["message"]
    assert httpx.post(fake_gateway.url + "/v1/embeddings", json={"input": ["a b"] * 2048},
                      timeout=60).status_code == 200  # the default limit itself is served


def test_limits_are_configurable(fake_engine: EngineInfo) -> None:
    limits = InputLimits(max_embedding_inputs=3, max_chat_messages=2, max_input_chars=50)
    gw = start_gateway([fake_engine], GatewaySettings(security=SecuritySettings(limits=limits)))
    try:
        def post(path: str, body: object) -> int:
            return httpx.post(gw.url + path, json=body, timeout=30).status_code

        assert post("/v1/embeddings", {"input": ["a"] * 3}) == 200
        assert post("/v1/embeddings", {"input": ["a"] * 4}) == 400
        assert post("/v1/chat/completions", {"messages": CHAT["messages"] * 3}) == 400
        assert post("/v1/chat/completions", {"messages": [{"role": "user", "content": "x" * 51}]}) == 400
        assert post("/v1/completions", {"prompt": "x" * 51}) == 400
        assert post("/v1/completions", {"prompt": "x" * 50}) == 200
    finally:
        gw.stop()


def test_oversize_headers_are_431(fake_gateway: Gateway) -> None:
    r = httpx.get(fake_gateway.url + "/v1/models", headers={"X-Big": "a" * 1_000_000})
    assert r.status_code == 431
    assert r.json()["error"]["code"] == "headers_too_large"
    assert httpx.get(fake_gateway.url + "/v1/models").status_code == 200


async def test_full_queue_is_overload_not_rate_limit(
    fake_engine_factory: Callable[..., EngineInfo],
) -> None:
    """A full queue is the server's overload (``server_overloaded``), not a rate limit."""
    engine = fake_engine_factory(capacity=1)
    gw = start_gateway([engine], policy="fifo", max_queue=1)
    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=60) as client:
            busy = asyncio.ensure_future(
                client.post("/v1/completions", json=slow({"prompt": "x"}, 2000))
            )
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["requests"] == 1, "the engine to be busy"
            )
            replies = await asyncio.gather(
                *[client.post("/v1/completions", json={"prompt": "x"}) for _ in range(3)]
            )
            assert (await busy).status_code == 200
    finally:
        gw.stop()
    refused = [r for r in replies if r.status_code == 429]
    assert refused, [r.status_code for r in replies]
    assert {r.json()["error"]["code"] for r in refused} == {"server_overloaded"}


@pytest.mark.parametrize("status", [400, 422, 500])
def test_a_request_the_engine_refuses_is_not_retried(
    fake_engine_factory: Callable[..., EngineInfo], status: int
) -> None:
    """An engine's 4xx, or a 500 from an engine that still answers its probe, is about
    the request: passed through once, never retried, the engine stays in rotation."""
    engine = fake_engine_factory(capacity=2)
    other = fake_engine_factory(capacity=2)
    gw = start_gateway([engine, other], policy="round_robin")
    try:
        bad = {**CHAT, "fake": {"fail_status": status}}
        before = fake_stats(engine)["requests"] + fake_stats(other)["requests"]
        for _ in range(4):
            r = httpx.post(gw.url + "/v1/chat/completions", json=bad, timeout=30)
            assert r.status_code == status, r.text
        after = fake_stats(engine)["requests"] + fake_stats(other)["requests"]
        assert after - before == 4  # one engine call per request: no retries
        assert all(e.describe()["healthy"] for e in gw.cp.engines())
        assert httpx.post(gw.url + "/v1/chat/completions", json=CHAT).status_code == 200
    finally:
        gw.stop()
