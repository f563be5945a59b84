"""API keys -> tenants, exposure rule, rate limits and queue overload (429)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from sage.common.config import GatewaySettings, TenantKey
from sage.common.errors import ConfigError
from sage.common.ports import ephemeral_port
from sage.gateway.app import check_exposure
from tests.gateway.conftest import StubGateway, start_gateway
from tests.gateway.stub_engine import stub_engine

KEYS = [
    TenantKey(key="key-a", tenant="team-a"),
    TenantKey(key="key-b", tenant="team-b", rate_limit_rps=1.0),
]


@pytest.fixture(scope="module")
def keyed_gateway(stub_url: str) -> Iterator[StubGateway]:
    gw = start_gateway([stub_url], GatewaySettings(api_keys=KEYS))
    yield gw
    gw.thread.stop()


def embed(url: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(url + "/v1/embeddings", json={"input": "x"}, headers=headers)


def test_keys_required_and_mapped_to_tenants(keyed_gateway: StubGateway) -> None:
    assert embed(keyed_gateway.url, None).status_code == 401
    wrong = embed(keyed_gateway.url, "nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(keyed_gateway.url + "/v1/models").status_code == 401
    assert httpx.get(keyed_gateway.url + "/admin/engines").status_code == 401
    assert embed(keyed_gateway.url, "key-a").status_code == 200
    metrics = httpx.get(keyed_gateway.url + "/metrics").text
    assert 'tenant="team-a"' in metrics


def test_tenant_rate_limit_is_429_with_retry_after(keyed_gateway: StubGateway) -> None:
    codes = [embed(keyed_gateway.url, "key-b") for _ in range(4)]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert limited[0].json()["error"]["code"] == "rate_limit_exceeded"
    assert embed(keyed_gateway.url, "key-a").status_code == 200  # other tenants unaffected


def test_exposure_requires_keys() -> None:
    check_exposure(GatewaySettings(), "127.0.0.1")
    with pytest.raises(ConfigError, match="API keys are required"):
        check_exposure(GatewaySettings(), "0.0.0.0")
    check_exposure(GatewaySettings(api_keys=KEYS), "0.0.0.0")


async def test_full_queue_is_429() -> None:
    port = ephemeral_port()
    with stub_engine(port, delay=0.5):
        gw = start_gateway([f"http://127.0.0.1:{port}"], policy="fifo", capacity=1, max_queue=2)
        try:
            async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
                replies = await asyncio.gather(
                    *[client.post("/v1/completions", json={"prompt": "x"}) for _ in range(6)]
                )
        finally:
            gw.thread.stop()
    codes = sorted(r.status_code for r in replies)
    assert 200 in codes and 429 in codes, codes
    rejected = next(r for r in replies if r.status_code == 429)
    assert "retry-after" in rejected.headers
    assert codes.count(200) >= 3  # one running + two queued, all served


def test_unmeetable_deadline_is_429() -> None:
    port = ephemeral_port()
    with stub_engine(port, delay=0.3):
        gw = start_gateway([f"http://127.0.0.1:{port}"], policy="slo_aware", capacity=1)
        try:
            chat = {"messages": [{"role": "user", "content": "hi"}]}
            url = gw.url + "/v1/chat/completions"
            assert httpx.post(url, json=chat).status_code == 200  # learns ~0.3 s per request
            tight = httpx.post(url, json=chat, headers={"X-SAGE-Deadline-Ms": "50"})
            assert tight.status_code == 429
            assert tight.json()["error"]["code"] == "deadline_unmeetable"
            roomy = httpx.post(url, json=chat, headers={"X-SAGE-SLO-Ms": "5000"})
            assert roomy.status_code == 200
        finally:
            gw.thread.stop()
