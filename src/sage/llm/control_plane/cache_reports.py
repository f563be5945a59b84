"""Precise prefix-cache knowledge: what each engine says it holds (``GET /v1/cache``).

When the running policy places by prefix with ``source="precise"`` (``prefix_aware``, or
``hybrid`` with ``prefix_aware=true``), this poller asks every healthy LLM engine for the
block hashes of its cached prompts once per ``interval_s`` and hands them to the policy
(:meth:`~sage.llm.control_plane.policies.prefix_aware.PrefixAwarePolicy.observe`). An
engine that cannot tell (an external server without the endpoint, a failed call) is
simply not reported: the policy then sees no cached prefix there and places by load.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import httpx

from sage.llm.control_plane.directory import EngineDirectory
from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy


def precise_policy(policy: RequestPolicy) -> PrefixAwarePolicy | None:
    """The prefix-aware policy that wants engine reports, if ``policy`` is or holds one."""
    for candidate in (policy, getattr(policy, "llm", None)):
        if isinstance(candidate, PrefixAwarePolicy) and candidate.source == "precise":
            return candidate
    return None


def reported_hashes(payload: Any) -> list[int] | None:
    """Block hashes in a ``/v1/cache`` reply, ``None`` when it is not one."""
    try:
        return [int(h, 16) for e in payload["entries"] for h in e["block_hashes"]]
    except (KeyError, TypeError, ValueError):
        return None


class CacheReports:
    """Polls engines' prefix caches for a precise policy (idle otherwise)."""

    def __init__(
        self,
        directory: EngineDirectory,
        policy: Callable[[], RequestPolicy],
        interval_s: float = 1.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.directory = directory
        self.policy = policy
        self.interval_s = interval_s
        self._client = client
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        client = self._client or httpx.AsyncClient(timeout=httpx.Timeout(2.0))
        try:
            while True:
                await self.poll_once(client)
                await asyncio.sleep(self.interval_s)
        finally:
            if self._client is None:
                await client.aclose()

    async def poll_once(self, client: httpx.AsyncClient) -> int:
        """Ask every healthy LLM engine once; returns how many reported."""
        policy = precise_policy(self.policy())
        if policy is None:
            return 0
        reported = 0
        for endpoint in self.directory.endpoints():
            if not endpoint.state.healthy or "llm" not in endpoint.state.kinds:
                continue
            try:
                reply = await client.get(endpoint.url + "/v1/cache", headers=endpoint.headers)
                hashes = reported_hashes(reply.json()) if reply.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                hashes = None
            if hashes is not None:
                policy.observe(endpoint.id, hashes)
                reported += 1
        return reported
