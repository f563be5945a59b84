"""Graceful shutdown for streams: on SIGTERM, each live stream ends with an OpenAI error
event and ``[DONE]`` (so a client knows it was cut, not finished) instead of a dropped
connection after uvicorn's grace period."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

DRAIN_POLL_S = 0.1
DRAIN_EVENT = (
    b"data: "
    + json.dumps(
        {
            "error": {
                "message": "the gateway is shutting down; retry the request",
                "type": "server_error",
                "param": None,
                "code": "server_shutting_down",
            }
        }
    ).encode()
    + b"\n\ndata: [DONE]\n\n"
)


class Drain:
    """Set once the server is stopping; :meth:`relay` then ends every stream cleanly."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._waiter: asyncio.Future[bool] | None = None

    def _future(self) -> asyncio.Future[bool]:
        if self._event is None:
            self._event = asyncio.Event()
        if self._waiter is None:
            self._waiter = asyncio.ensure_future(self._event.wait())
        return self._waiter

    @property
    def draining(self) -> bool:
        return self._event is not None and self._event.is_set()

    def start(self) -> None:
        self._future()
        assert self._event is not None
        self._event.set()

    async def watch(self, should_exit: Callable[[], bool]) -> None:
        """Start draining once ``should_exit()`` (uvicorn's flag, set by SIGTERM)."""
        while not should_exit():
            await asyncio.sleep(DRAIN_POLL_S)
        self.start()

    def close(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.cancel()

    async def relay(self, stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``stream``'s chunks until it ends or the drain starts (then the error event)."""
        waiter = self._future()
        iterator = stream.__aiter__()
        while True:
            step = asyncio.ensure_future(iterator.__anext__())
            try:
                done, _ = await asyncio.wait(
                    {step, waiter}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                if not step.done():  # draining, or the client left: stop reading
                    step.cancel()
            if step not in done:
                yield DRAIN_EVENT
                return
            try:
                chunk = step.result()
            except StopAsyncIteration:
                return
            yield chunk
