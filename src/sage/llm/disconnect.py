"""Abandoned requests: a client that disconnects while its reply is being made cancels
the work (the gateway: the request leaves the queue or its engine call; the llama engine:
decoding stops).

Starlette only notices a disconnect while it streams a response; a handler awaiting a
whole reply would make an answer nobody reads. After the body is read, the next ASGI
``receive`` message can only be ``http.disconnect``, so one watcher task suffices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.requests import Request

from sage.llm.openai_errors import OpenAIError

T = TypeVar("T")

CLIENT_CLOSED = 499  # nginx's status for "client closed request" (for metrics; nobody reads it)


class ClientGone(OpenAIError):
    """The client disconnected before its reply was ready."""

    def __init__(self) -> None:
        super().__init__(CLIENT_CLOSED, "the client closed the request", code="client_closed")


async def unless_disconnected(request: Request, work: Awaitable[T]) -> T:
    """``await work`` in this task, cancelled (raising :class:`ClientGone`) if the client
    leaves first. One watcher task: ``work`` itself runs inline, with no task of its own."""
    current = asyncio.current_task()
    assert current is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await request.receive())["type"] != "http.disconnect":
            pass
        gone = True
        current.cancel()

    watcher = asyncio.ensure_future(watch())
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:
            raise
        current.uncancel()  # our own cancel, turned into an answer
        raise ClientGone() from None
    finally:
        watcher.cancel()
