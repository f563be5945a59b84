"""A bound on how long a request may wait in the queue."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sage.llm.control_plane.errors import QueueTimeoutError
from sage.llm.control_plane.failover import fail
from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.types import Request


class QueueTimeouts:
    """Refuses a request still queued after ``max_wait_s`` with 429 ``queue_timeout``.

    A queue bound in requests cannot bound the wait when engines are slow (256 queued
    chats on a CPU engine are minutes of work); ``None`` lets requests wait.
    """

    def __init__(self, max_wait_s: float | None, policy: Callable[[], RequestPolicy]) -> None:
        self.max_wait_s = max_wait_s
        self._policy = policy

    def arm(self, request: Request, future: asyncio.Future[Any]) -> None:
        """Start ``request``'s clock; it stops when ``future`` is done (answered or failed)."""
        if not self.max_wait_s:
            return
        timer = asyncio.get_running_loop().call_later(self.max_wait_s, self._expire, request)
        future.add_done_callback(lambda _: timer.cancel())

    def _expire(self, request: Request) -> None:
        if self._policy().remove(request.id) is not None:
            fail(request, QueueTimeoutError(f"queued longer than {self.max_wait_s:g}s", 1.0))
