"""Precise mode: engines' /v1/cache reports reach the policy; a silent engine is no error."""

from __future__ import annotations

import httpx

from sage.llm.control_plane.cache_reports import CacheReports
from sage.llm.control_plane.directory import EngineDirectory
from sage.llm.control_plane.engines import EngineEndpoint
from sage.llm.control_plane.policies import get_policy
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from sage.llm.control_plane.types import EngineState, Request, RequestKind


def directory() -> EngineDirectory:
    d = EngineDirectory()
    for i in range(2):
        state = EngineState(f"e{i}", frozenset({"llm"}), frozenset({"m"}))
        d.add(EngineEndpoint(f"http://engine{i}", state))
    return d


def engines(request: httpx.Request) -> httpx.Response:
    if request.url.host == "engine0":
        return httpx.Response(200, json={"entries": [{"block_hashes": ["00000000000000ff"]}]})
    return httpx.Response(404, json={"error": {"message": "not found"}})  # cannot tell


async def test_reports_feed_a_precise_policy_only() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(engines))
    policy = PrefixAwarePolicy(source="precise")
    assert await CacheReports(directory(), lambda: policy).poll_once(client) == 1
    assert policy.index["e0"].match([0xFF]) == 1 and "e1" not in policy.index
    approximate = get_policy("prefix_aware")
    assert await CacheReports(directory(), lambda: approximate).poll_once(client) == 0
    nested = get_policy("hybrid", prefix_aware=True, prefix_source="precise")
    assert await CacheReports(directory(), lambda: nested).poll_once(client) == 1
    await client.aclose()


async def test_a_dead_engine_is_not_reported_and_its_prefixes_become_misses() -> None:
    def dead_e0(request: httpx.Request) -> httpx.Response:
        if request.url.host == "engine0":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"entries": [{"block_hashes": ["00000000000000ff"]}]})

    client = httpx.AsyncClient(transport=httpx.MockTransport(dead_e0))
    policy = PrefixAwarePolicy(source="precise")
    policy.observe("e0", [0xFF])  # what e0 said before it died
    assert await CacheReports(directory(), lambda: policy).poll_once(client) == 1  # no raise
    e0, e1 = (EngineState(f"e{i}", frozenset({"llm"}), frozenset({"m"}), 1) for i in range(2))
    e0.healthy = False
    request = Request("r", RequestKind.CHAT, "m", arrival=0.0, prefix_hashes=(0xFF, 0x01))
    policy.enqueue(request, 0.0)
    (dispatch,) = policy.schedule([e0, e1], 0.0)  # placed on the live engine, no error
    assert dispatch.engine_id == "e1" and "e0" not in policy.index
    await client.aclose()
