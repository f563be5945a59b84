"""Issue 23, items 2 and 11: a tiny body cannot ask for gigabytes; overload has its own
429 code; oversize headers get a 431 (fake engine: no model needed)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from sage.common.config import GatewaySettings
from sage.common.security import InputLimits, SecuritySettings
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import fake_stats
from tests.fixtures.gateway import CHAT, Gateway, start_gateway


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


def test_overload_and_rate_limit_have_their_own_codes() -> None:
    """A full queue is the server's overload, not the tenant's rate limit (the refusal
    itself is replayed over HTTP in tests/gateway/test_auth_and_limits.py)."""
    from sage.common.errors import OverloadedError, RateLimitedError
    from sage.gateway.errors import refusal_error

    assert refusal_error(OverloadedError("queue full")).code == "server_overloaded"
    assert refusal_error(RateLimitedError("slow down", 2.0)).code == "rate_limit_exceeded"
    assert refusal_error(RateLimitedError("slow down", 2.0)).headers == {"Retry-After": "2"}


def test_a_request_the_engine_refuses_is_not_retried(
    fake_engine_factory: Callable[..., EngineInfo],
) -> None:
    """An engine's 4xx, or a 500 from an engine that still answers its probe, is about
    the request: passed through once, never retried, the engine stays in rotation."""
    engine = fake_engine_factory(capacity=2)
    other = fake_engine_factory(capacity=2)
    gw = start_gateway([engine, other], policy="round_robin")
    try:
        for status in (400, 422, 500):
            bad = {**CHAT, "fake": {"fail_status": status}}
            before = fake_stats(engine)["requests"] + fake_stats(other)["requests"]
            for _ in range(4):
                r = httpx.post(gw.url + "/v1/chat/completions", json=bad, timeout=30)
                assert r.status_code == status, r.text
            after = fake_stats(engine)["requests"] + fake_stats(other)["requests"]
            assert after - before == 4, status  # one engine call per request: no retries
            assert all(e.describe()["healthy"] for e in gw.cp.engines())
        assert httpx.post(gw.url + "/v1/chat/completions", json=CHAT).status_code == 200
    finally:
        gw.stop()
