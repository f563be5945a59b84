"""API keys -> tenants, exposure rule and rate limits (real engines); fair share and
overload (429) with fake engines that hold requests as long as a test needs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

import httpx
import pytest

from sage.common.config import GatewaySettings, TenantKey
from sage.common.errors import ConfigError
from sage.gateway.app import check_exposure
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import RealEngines, fake_stats, wait_until
from tests.fixtures.gateway import CHAT, Gateway, slow, start_gateway

KEYS = [
    TenantKey(key="key-a", tenant="team-a", priority=5),
    TenantKey(key="key-b", tenant="team-b", rate_limit_rps=1.0),
    TenantKey(key="key-ops", tenant="ops", admin=True),
]


@pytest.fixture(scope="module")
def keyed_gateway(real_engines: RealEngines) -> Iterator[Gateway]:
    gw = start_gateway(real_engines.engines, GatewaySettings(api_keys=KEYS))
    yield gw
    gw.stop()


def embed(url: str, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(url + "/v1/embeddings", json={"input": "x"}, headers=headers)


def test_keys_required_and_mapped_to_tenants(keyed_gateway: Gateway) -> None:
    missing = embed(keyed_gateway.url, None)
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
    wrong = embed(keyed_gateway.url, "nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
    for path in ("/v1/models", "/admin/engines", "/admin/policy"):
        assert httpx.get(keyed_gateway.url + path).status_code == 401, path
    assert embed(keyed_gateway.url, "key-a").status_code == 200
    by_header = httpx.post(
        keyed_gateway.url + "/v1/embeddings", json={"input": "x"}, headers={"X-API-Key": "key-a"}
    )
    assert by_header.status_code == 200
    metrics = httpx.get(keyed_gateway.url + "/metrics", headers={"X-API-Key": "key-a"}).text
    assert 'tenant="team-a"' in metrics


def test_admin_api_needs_an_admin_key(keyed_gateway: Gateway) -> None:
    def get(path: str, key: str) -> httpx.Response:
        return httpx.get(keyed_gateway.url + path, headers={"Authorization": f"Bearer {key}"})

    for path in ("/admin/engines", "/admin/policy"):
        refused = get(path, "key-a")
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "admin_key_required"
        assert get(path, "key-ops").status_code == 200, path
    swap = httpx.post(keyed_gateway.url + "/admin/policy", json={"name": "fifo"},
                      headers={"Authorization": "Bearer key-a"})
    assert swap.status_code == 403
    assert get("/admin/policy", "key-ops").json()["name"] != "fifo"


def test_tenant_rate_limit_is_429_with_retry_after(keyed_gateway: Gateway) -> None:
    replies = []
    for _ in range(10):  # 1 request/s with a burst of 1: the second in a row is refused
        replies.append(embed(keyed_gateway.url, "key-b"))
        if replies[-1].status_code == 429:
            break
    limited = replies[-1]
    assert limited.status_code == 429, [r.status_code for r in replies]
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert embed(keyed_gateway.url, "key-a").status_code == 200  # other tenants unaffected


def test_exposure_requires_keys() -> None:
    check_exposure(GatewaySettings(), "127.0.0.1")
    check_exposure(GatewaySettings(), "localhost")
    for host in ("0.0.0.0", "192.168.1.10", "::"):
        with pytest.raises(ConfigError, match="API keys are required"):
            check_exposure(GatewaySettings(), host)
    long_keys = [TenantKey(key="key-long-enough", tenant="team-a")]
    check_exposure(GatewaySettings(api_keys=long_keys), "0.0.0.0")
    with pytest.raises(ConfigError, match="too short"):
        check_exposure(GatewaySettings(api_keys=KEYS), "0.0.0.0")


async def test_full_queue_is_429_with_retry_after(
    fake_engine_factory: Callable[..., EngineInfo],
) -> None:
    engine = fake_engine_factory(capacity=1)
    gw = start_gateway([engine], policy="fifo", max_queue=2)
    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=60) as client:
            # One request holds the only slot until the rest have been answered or queued.
            busy = asyncio.ensure_future(
                client.post("/v1/completions", json=slow({"prompt": "x"}, 3000))
            )
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["requests"] == 1, "the engine to be busy"
            )
            replies = await asyncio.gather(
                *[client.post("/v1/completions", json={"prompt": "x"}) for _ in range(5)]
            )
            assert (await busy).status_code == 200
    finally:
        gw.stop()
    codes = sorted(r.status_code for r in replies)
    assert codes == [200, 200, 429, 429, 429], codes  # two queued and served, three refused
    rejected = next(r for r in replies if r.status_code == 429)
    assert int(rejected.headers["retry-after"]) >= 1
    assert rejected.json()["error"]["type"] == "rate_limit_error"
    assert rejected.json()["error"]["code"] == "server_overloaded"  # not the tenant's limit


def test_unmeetable_deadline_is_429(fake_engine_factory: Callable[..., EngineInfo]) -> None:
    engine = fake_engine_factory(capacity=1, latency_ms=300)
    gw = start_gateway([engine], policy="slo_aware")
    try:
        url = gw.url + "/v1/chat/completions"
        assert httpx.post(url, json=CHAT).status_code == 200  # learns >= 0.3 s per request
        tight = httpx.post(url, json=CHAT, headers={"X-SAGE-Deadline-Ms": "50"})
        assert tight.status_code == 429
        assert tight.json()["error"]["code"] == "deadline_unmeetable"
        assert "retry-after" in tight.headers
        roomy = httpx.post(url, json=CHAT, headers={"X-SAGE-SLO-Ms": "60000"})
        assert roomy.status_code == 200
    finally:
        gw.stop()


async def test_fair_share_serves_a_quiet_tenant_before_a_flood(
    fake_engine_factory: Callable[..., EngineInfo],
) -> None:
    """Tenant A queues ten requests first; B's one request is served second, not eleventh."""
    engine = fake_engine_factory(capacity=1)
    gw = start_gateway([engine], policy="fair")
    order: list[str] = []

    async def call(client: httpx.AsyncClient, tenant: str, body: dict[str, object]) -> None:
        r = await client.post("/v1/completions", json=body, headers={"X-SAGE-Tenant": tenant})
        assert r.status_code == 200
        order.append(tenant)

    try:
        async with httpx.AsyncClient(base_url=gw.url, timeout=60) as client:
            first = asyncio.ensure_future(call(client, "a", slow({"prompt": "x"}, 1500)))
            await asyncio.to_thread(
                wait_until, lambda: fake_stats(engine)["requests"] == 1, "the engine to be busy"
            )
            flood = [asyncio.ensure_future(call(client, "a", {"prompt": "x"})) for _ in range(10)]
            await asyncio.to_thread(
                wait_until,
                lambda: gw.thread.call(gw.cp.queue_depth) == 10,
                "the flood to be queued",
            )
            quiet = asyncio.ensure_future(call(client, "b", {"prompt": "x"}))
            await asyncio.gather(first, quiet, *flood)
    finally:
        gw.stop()
    assert order.index("b") <= 2, order
