"""The dispatcher in-process (no gateway): policy switch at run time, engines added live."""

from __future__ import annotations

import asyncio

import pytest

from sage.common.errors import NoHealthyEngineError
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.control_plane.errors import UnknownModelError
from sage.llm.control_plane.types import RequestKind


async def test_switching_policy_keeps_pending_requests(stub_url: str) -> None:
    async with ControlPlane("fifo") as cp:
        cp.add_engine(stub_url, kind="both", models=["stub-llm", "stub-embed"], capacity=1)
        body = {"messages": [{"role": "user", "content": "hi"}], "delay": 0.2}

        async def one(priority: int) -> int:
            request = cp.new_request(RequestKind.CHAT, "stub-llm", priority=priority)
            return (await cp.submit(request, body)).status

        tasks = [asyncio.ensure_future(one(p)) for p in range(5)]
        await asyncio.sleep(0.05)
        assert cp.queue_depth() == 4  # one running, four queued
        new = cp.set_policy("priority")
        assert len(new) == 4 and cp.policy is new
        assert await asyncio.gather(*tasks) == [200] * 5
        assert cp.queue_depth() == 0


async def test_engines_added_and_removed_at_run_time(stub_url: str) -> None:
    async with ControlPlane("hybrid") as cp:
        with pytest.raises(NoHealthyEngineError):
            cp.new_request(RequestKind.EMBEDDING, None)
        waiter = None
        cp.add_engine(stub_url, kind="embedding", models=["stub-embed"], engine_id="e")
        request = cp.new_request(RequestKind.EMBEDDING, None, n_inputs=1)
        assert request.model == "stub-embed"
        waiter = asyncio.ensure_future(cp.submit(request, {"input": ["a"]}, inputs=["a"]))
        reply = await waiter
        assert reply.status == 200 and len(reply.json()["data"]) == 1
        with pytest.raises(UnknownModelError):
            cp.new_request(RequestKind.EMBEDDING, "other")
        assert cp.remove_engine("e")
        with pytest.raises(NoHealthyEngineError):
            cp.new_request(RequestKind.EMBEDDING, None)


async def test_cancelled_waiter_leaves_the_queue(stub_url: str) -> None:
    async with ControlPlane("fifo") as cp:
        cp.add_engine(stub_url, kind="llm", models=["stub-llm"], capacity=1)
        body = {"prompt": "x"}
        busy = cp.new_request(RequestKind.CHAT, "stub-llm")
        first = asyncio.ensure_future(
            cp.submit(busy, {**body, "delay": 0.3, "messages": [{"role": "u"}]})
        )
        queued = asyncio.ensure_future(
            cp.submit(cp.new_request(RequestKind.COMPLETION, "stub-llm"), body)
        )
        await asyncio.sleep(0.05)
        assert cp.queue_depth() == 1
        queued.cancel()
        await asyncio.sleep(0)
        assert cp.queue_depth() == 0
        assert (await first).status == 200
