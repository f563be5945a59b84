"""``max_queue_wait_s``: a request still queued after it gets 429 ``queue_timeout``
(a bound in requests cannot bound the wait when engines are slow); one that started in
time runs to the end."""

from __future__ import annotations

import asyncio

import httpx

from tests.fixtures.engines import FakeEngineFactory
from tests.fixtures.gateway import CHAT, slow, start_gateway


def test_requests_queued_too_long_are_refused(fake_engine_factory: FakeEngineFactory) -> None:
    engine = fake_engine_factory(kind="llm", capacity=1)
    gw = start_gateway([engine], policy="fifo", max_queue_wait_s=0.5)

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post("/v1/chat/completions", json=slow(CHAT, 1500))

    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
            return await asyncio.gather(*[send(client) for _ in range(3)])

    try:
        replies = asyncio.run(burst())
    finally:
        gw.stop()
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [200, 429, 429]
    for reply in replies:
        if reply.status_code == 429:
            error = reply.json()["error"]
            assert error["code"] == "queue_timeout" and error["type"]
            assert reply.headers["retry-after"] == "1"
    assert gw.cp.queue_depth() == 0
