"""A queued request whose deadline (``x-sage-deadline-ms``) passes is answered at once
with 429 ``deadline_exceeded`` in OpenAI's error shape, and counted in ``/metrics``."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.engines import FakeEngineFactory
from tests.fixtures.gateway import CHAT, slow, start_gateway


def test_a_request_queued_past_its_deadline_gets_deadline_exceeded(
    fake_engine_factory: FakeEngineFactory,
) -> None:
    engine = fake_engine_factory(kind="llm", capacity=1)
    gw = start_gateway([engine], policy="fifo")  # fifo: no speed-based admission

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            "/v1/chat/completions",
            json=slow(CHAT, 1000),
            headers={"x-sage-deadline-ms": "1500"},
        )

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            return await asyncio.gather(*[send(client) for _ in range(3)])

    try:
        replies = asyncio.run(burst())
        metrics = httpx.get(gw.url + "/metrics").text
    finally:
        gw.stop()
    # One runs at once, one starts at 1 s (before its deadline), one is still queued at 1.5 s.
    assert sorted(r.status_code for r in replies) == [200, 200, 429]
    refused = next(r for r in replies if r.status_code == 429)
    error = refused.json()["error"]
    assert error["code"] == "deadline_exceeded" and error["type"] and error["message"]
    assert refused.headers["retry-after"] == "1"
    assert gw.cp.queue_depth() == 0 and gw.cp.queue_timeouts.expired == 1
    counted = {
        sample.labels["code"]: sample.value
        for family in text_string_to_metric_families(metrics)
        if family.name == "sage_gateway_refusals"
        for sample in family.samples
        if sample.name == "sage_gateway_refusals_total"
    }
    assert counted == {"deadline_exceeded": 1.0}
