"""Bounds on how long a request may wait in the queue: ``max_queue_wait_s``, and its
own deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sage.llm.control_plane.errors import DeadlineExceededError, QueueTimeoutError
from sage.llm.control_plane.expiry import DeadlineExpiry
from sage.llm.control_plane.failover import fail
from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.types import Request


class QueueTimeouts:
    """Refuses a request still queued after ``max_wait_s`` with 429 ``queue_timeout``,
    and one that can no longer meet its deadline with 429 ``deadline_exceeded``.

    A queue bound in requests cannot bound the wait when engines are slow (256 queued
    chats on a CPU engine are minutes of work); ``None`` lets requests wait. A request
    with a deadline is answered as soon as the policy says it cannot be met or, under any
    policy, when the deadline passes while it is queued (gRPC-style deadline expiry):
    the client hears at once instead of getting a reply it no longer wants, and the
    engine's time goes to requests that can still make it. No deadline: no expiry.
    """

    def __init__(self, max_wait_s: float | None, policy: Callable[[], RequestPolicy]) -> None:
        self.max_wait_s = max_wait_s
        self._policy = policy
        self.deadlines = DeadlineExpiry()

    @property
    def expired(self) -> int:
        """Requests answered ``deadline_exceeded`` so far."""
        return self.deadlines.expired

    def arm(self, request: Request, future: asyncio.Future[Any]) -> None:
        """Start ``request``'s clocks; the wait bound stops when ``future`` is done."""
        self.deadlines.track(request)
        if not self.max_wait_s:
            return
        timer = asyncio.get_running_loop().call_later(self.max_wait_s, self._expire, request)
        future.add_done_callback(lambda _: timer.cancel())

    def expire_due(self, now: float) -> None:
        """Answer every queued request that can no longer meet its deadline (before each
        scheduling pass, so none of them is sent to an engine)."""
        for request in self.deadlines.due(self._policy(), now):
            fail(request, DeadlineExceededError("the request's deadline can no longer be met"))

    def wake_at(self, wake: float | None) -> float | None:
        """The earlier of the policy's wake-up ``wake`` and the next queued deadline."""
        return self.deadlines.wake_at(wake, self._policy())

    def _expire(self, request: Request) -> None:
        if self._policy().remove(request.id) is not None:
            fail(request, QueueTimeoutError(f"queued longer than {self.max_wait_s:g}s", 1.0))
