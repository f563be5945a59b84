"""The control plane's running tasks, and the cancellation of abandoned requests.

Every task the control plane starts is kept here (so closing cancels them all), with
the requests each dispatch task carries; when a caller leaves
(e.g. its client disconnected) its request is taken out of the queue or, once nobody in
its dispatch waits any more, its engine call is cancelled so the engine stops decoding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.types import Request

if TYPE_CHECKING:
    from sage.llm.control_plane.transport import EngineReply


class InFlight:
    """The control plane's tasks, and which one runs each dispatched request."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: dict[str, tuple[asyncio.Task[Any], list[Request]]] = {}

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def track(self, task: asyncio.Task[Any], requests: list[Request]) -> None:
        """``task`` runs ``requests``; forget them when it ends."""
        for request in requests:
            self._running[request.id] = (task, requests)
        task.add_done_callback(lambda _: self.forget(requests))

    def forget(self, requests: list[Request]) -> None:
        for request in requests:
            self._running.pop(request.id, None)

    def abandon(self, request_id: str) -> None:
        """Cancel the engine call of an abandoned request once nobody in its dispatch
        waits any more: the upstream connection closes, so the engine stops decoding."""
        running = self._running.get(request_id)
        if running is not None and all(r.payload.future.done() for r in running[1]):
            running[0].cancel()

    async def wait(self, request: Request, policy: RequestPolicy) -> EngineReply:
        """Await ``request``'s reply; if the caller is cancelled (e.g. its client
        disconnected), see :meth:`caller_left`."""
        try:
            return await request.payload.future
        except asyncio.CancelledError:
            self.caller_left(request, policy)
            raise

    def caller_left(self, request: Request, policy: RequestPolicy) -> None:
        """The caller awaiting ``request`` was cancelled: unqueue it, release a reply
        nobody will read, or abandon its engine call."""
        future = request.payload.future
        gone = policy.remove(request.id) is None
        if gone and future.done() and not future.cancelled() and future.exception() is None:
            future.result().release()
        elif gone:
            self.abandon(request.id)
