"""The engine-down grace: a request for a model whose only engine is down waits for it
(and runs when it is back) until the grace runs out, then fails with 503's error."""

from __future__ import annotations

import asyncio

import pytest

from sage.common.errors import NoHealthyEngineError
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.control_plane.types import RequestKind
from sage.llm.engines.spec import EngineInfo
from tests.llm.control_plane.test_dispatcher import CHAT, wait_for


async def test_a_request_waits_for_its_engine_to_come_back(fake_engine: EngineInfo) -> None:
    async with ControlPlane("fifo", engine_down_grace_s=60, health_interval_s=60) as cp:
        cp.add_engine(fake_engine.url, kind="llm", models=["fake-llm"], engine_id="e")
        cp.mark_unhealthy("e")
        waiting = asyncio.ensure_future(cp.submit(cp.new_request(RequestKind.CHAT, None), CHAT))
        await wait_for(lambda: cp.queue_depth() == 1, "the request to queue")
        cp.mark_healthy("e")
        assert (await waiting).status == 200
        assert cp.engines()[0].describe()["restarts"] == 1  # shown by /health and the studio


@pytest.mark.parametrize("grace_s", [0.2, 0.0])  # the wait runs out; no wait at all
async def test_past_the_grace_no_healthy_engine(fake_engine: EngineInfo, grace_s: float) -> None:
    async with ControlPlane("fifo", engine_down_grace_s=grace_s, health_interval_s=60) as cp:
        cp.add_engine(fake_engine.url, kind="llm", models=["fake-llm"], engine_id="e")
        cp.mark_unhealthy("e")
        with pytest.raises(NoHealthyEngineError):
            await cp.submit(cp.new_request(RequestKind.CHAT, None), CHAT)
        assert cp.queue_depth() == 0
