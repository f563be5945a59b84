"""The dispatcher in-process (no gateway): policy switch at run time, engines added live,
per-engine concurrency limits."""

from __future__ import annotations

import asyncio
import time

import pytest

from sage.common.errors import NoHealthyEngineError
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.control_plane.errors import UnknownModelError
from sage.llm.control_plane.types import RequestKind
from sage.llm.engines.spec import EngineInfo

MODELS = ["fake-llm", "fake-embedding"]
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def slow(body: dict[str, object], latency_ms: float) -> dict[str, object]:
    """``body`` that makes the fake engine wait ``latency_ms`` before answering."""
    return {**body, "fake": {"latency_ms": latency_ms}}


async def wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_switching_policy_keeps_pending_requests(fake_engine: EngineInfo) -> None:
    async with ControlPlane("fifo") as cp:
        cp.add_engine(fake_engine.url, kind="both", models=MODELS, capacity=1)
        done: list[int] = []

        async def one(priority: int, body: dict[str, object]) -> int:
            request = cp.new_request(RequestKind.CHAT, "fake-llm", priority=priority)
            status = (await cp.submit(request, body)).status
            done.append(priority)
            return status

        first = asyncio.ensure_future(one(-1, slow(CHAT, 1000)))  # holds the only slot
        await wait_for(lambda: cp.engines()[0].state.in_flight == 1, "the first dispatch")
        rest = [asyncio.ensure_future(one(p, CHAT)) for p in range(4)]
        await wait_for(lambda: cp.queue_depth() == 4, "four queued requests")
        new = cp.set_policy("priority")
        assert len(new) == 4 and cp.policy is new and cp.queue_depth() == 4
        assert await asyncio.gather(first, *rest) == [200] * 5
        assert cp.queue_depth() == 0
        assert done == [-1, 3, 2, 1, 0]  # the new policy served the moved requests


async def test_engines_added_and_removed_at_run_time(fake_engine: EngineInfo) -> None:
    async with ControlPlane("hybrid") as cp:
        with pytest.raises(NoHealthyEngineError):
            cp.new_request(RequestKind.EMBEDDING, None)
        cp.add_engine(fake_engine.url, kind="embedding", models=["fake-embedding"], engine_id="e")
        request = cp.new_request(RequestKind.EMBEDDING, None, n_inputs=1)
        assert request.model == "fake-embedding"
        reply = await cp.submit(request, {"input": ["a"]}, inputs=["a"])
        assert reply.status == 200 and len(reply.json()["data"]) == 1
        with pytest.raises(UnknownModelError):
            cp.new_request(RequestKind.EMBEDDING, "other")
        with pytest.raises(NoHealthyEngineError):  # an embedding engine serves no chat
            cp.new_request(RequestKind.CHAT, None)
        assert cp.remove_engine("e")
        with pytest.raises(NoHealthyEngineError):
            cp.new_request(RequestKind.EMBEDDING, None)


async def test_cancelled_waiter_leaves_the_queue(fake_engine: EngineInfo) -> None:
    async with ControlPlane("fifo") as cp:
        cp.add_engine(fake_engine.url, kind="llm", models=["fake-llm"], capacity=1)
        busy = cp.new_request(RequestKind.CHAT, "fake-llm")
        first = asyncio.ensure_future(cp.submit(busy, slow(CHAT, 500)))
        await wait_for(lambda: cp.engines()[0].state.in_flight == 1, "the first dispatch")
        queued = asyncio.ensure_future(
            cp.submit(cp.new_request(RequestKind.COMPLETION, "fake-llm"), {"prompt": "x"})
        )
        await wait_for(lambda: cp.queue_depth() == 1, "the queued request")
        queued.cancel()
        await wait_for(lambda: cp.queue_depth() == 0, "the cancelled request to leave")
        assert (await first).status == 200


async def test_engine_never_gets_more_than_its_capacity(fake_engine: EngineInfo) -> None:
    """Per-engine concurrency limit: 2 slots, 8 concurrent requests, never 3 in flight."""
    seen: list[int] = []

    class Observer:
        def dispatched(self, engine_id: str, requests: list[object]) -> None:
            seen.append(endpoint.state.in_flight)  # counted before the call goes out

        def engine_health(self, engine_id: str, healthy: bool) -> None:
            pass

    async with ControlPlane("least_loaded", observer=Observer()) as cp:
        endpoint = cp.add_engine(fake_engine.url, kind="both", models=MODELS, capacity=2)

        async def one() -> int:
            request = cp.new_request(RequestKind.CHAT, "fake-llm")
            return (await cp.submit(request, slow(CHAT, 200))).status

        assert await asyncio.gather(*[one() for _ in range(8)]) == [200] * 8
    assert len(seen) == 8 and max(seen) == 2


async def test_replies_tell_the_policy_what_the_engine_had_cached(fake_engine: EngineInfo) -> None:
    """The relayed usage (``prompt_tokens_details.cached_tokens``) reaches the policy with
    the request, streamed or not: what an approximate prefix index learns from."""
    async with ControlPlane("prefix_aware") as cp:
        cp.add_engine(fake_engine.url, kind="both", models=MODELS, capacity=2)
        for stream in (False, True):
            request = cp.new_request(RequestKind.CHAT, "fake-llm", prefix_hashes=(1, 2, 3))
            reply = await cp.submit(request, {**CHAT, "stream": stream}, stream=stream)
            if stream:
                assert reply.stream is not None
                async for _ in reply.stream:
                    pass
            assert reply.status == 200
            assert request.reply_cache == (0, 1)  # "hi": one prompt word, none cached
        await wait_for(lambda: not cp.policy._sent, "the replies' usage handed over")  # type: ignore[attr-defined]
