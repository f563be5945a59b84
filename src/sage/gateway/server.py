"""Run the gateway under uvicorn on a background thread (tests, demos, benchmarks)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from fastapi import FastAPI

from sage.common.ports import DEFAULT_HOST, ephemeral_port
from sage.gateway.app import uvicorn_config

T = TypeVar("T")


class GatewayThread:
    """uvicorn serving ``app`` in a daemon thread with its own event loop."""

    def __init__(
        self,
        app: FastAPI,
        host: str = DEFAULT_HOST,
        port: int | None = None,
        log_level: str = "warning",
    ) -> None:
        import uvicorn

        self.host = host
        self.port = port or ephemeral_port(host)
        self.server = uvicorn.Server(uvicorn_config(app, self.host, self.port, log_level))
        app.state.should_exit = lambda: self.server.should_exit  # stop() drains streams
        self._thread = threading.Thread(target=self._run, name="sage-gateway", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start()
            self._error = exc

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.server.serve()

    def start(self, timeout: float = 30.0) -> GatewayThread:
        self._thread.start()
        end = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the gateway failed to start on {self.url}: {self._error}")
            if time.monotonic() > end:
                self.stop()
                raise TimeoutError(f"the gateway did not start on {self.url}")
            time.sleep(0.01)
        return self

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run ``fn`` on the gateway's loop (control-plane methods are not thread-safe)."""

        async def run() -> T:
            return fn()

        return self.run(run(), timeout)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        assert self._loop is not None, "gateway not started"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)

    def __enter__(self) -> GatewayThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
