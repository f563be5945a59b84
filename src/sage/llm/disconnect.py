"""Abandoned requests: a client that disconnects while its reply is being made cancels
the work (the gateway: the request leaves the queue or its engine call; the llama engine:
decoding stops).

Starlette only notices a disconnect while it streams a response; a handler awaiting a
whole reply would make an answer nobody reads. After the body is read, the next ASGI
``receive`` message can only be ``http.disconnect``, so one watcher task suffices.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

from starlette.requests import Request

from sage.llm.openai_errors import OpenAIError

T = TypeVar("T")

CLIENT_CLOSED = 499  # nginx's status for "client closed request" (for metrics; nobody reads it)


class ClientGone(OpenAIError):
    """The client disconnected before its reply was ready."""

    def __init__(self) -> None:
        super().__init__(CLIENT_CLOSED, "the client closed the request", code="client_closed")


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """``await work``, cancelled (raising :class:`ClientGone`) if the client leaves first."""
    task: asyncio.Future[T] = asyncio.ensure_future(work)
    watcher: asyncio.Future[Any] = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if task.cancelled():
        raise ClientGone()
    return task.result()
