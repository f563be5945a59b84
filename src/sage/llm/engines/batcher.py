"""Server-side micro-batching: concurrent requests share one model call.

Requests wait in a queue; one worker takes everything queued (up to ``max_batch``
inputs), and only when the batch is not full and the model was just busy waits up to
``max_wait_s`` for stragglers. An idle encoder serves a lone request at once, and while
it is busy new requests pile up into the next batch, so batch size follows the load.
The wait window counts from the end of the previous batch: clients whose answers just
went out get a few milliseconds to send their next request and join the batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Pending(Generic[T, R]):
    items: Sequence[T]
    future: asyncio.Future[list[R]] = field(repr=False)


class MicroBatcher(Generic[T, R]):
    """Calls ``fn(items) -> results`` (same length) in a worker thread, batching callers."""

    def __init__(
        self,
        fn: Callable[[list[T]], Sequence[R]],
        max_batch: int = 64,
        max_wait_s: float = 0.003,
    ) -> None:
        self.fn = fn
        self.max_batch = max(1, max_batch)
        self.max_wait_s = max_wait_s
        self._queue: asyncio.Queue[_Pending[T, R]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="batcher")
        self._carry: _Pending[T, R] | None = None
        self._last_done = float("-inf")
        self.batches = 0  # calls made, for tests and metrics
        self.items = 0

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, items: Sequence[T]) -> list[R]:
        """Results for ``items``, computed together with whatever else is waiting."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called")
        future: asyncio.Future[list[R]] = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(list(items), future))
        return await future

    async def _collect(self) -> list[_Pending[T, R]]:
        assert self._queue is not None
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, size = [first], len(first.items)
        loop = asyncio.get_running_loop()
        deadline = self._last_done + self.max_wait_s
        while size < self.max_batch:
            if self._queue.empty():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    nxt = await asyncio.wait_for(self._queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
            else:
                nxt = self._queue.get_nowait()
            if size + len(nxt.items) > self.max_batch:
                self._carry = nxt  # would overflow: first in the next batch
                break
            batch.append(nxt)
            size += len(nxt.items)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._collect()
            live = [p for p in batch if not p.future.done()]  # skip callers that gave up
            if not live:
                continue
            items: list[T] = [item for p in live for item in p.items]
            try:
                results: Any = await loop.run_in_executor(self._executor, self.fn, items)
                results = list(results)
                if len(results) != len(items):
                    raise RuntimeError(f"batch function returned {len(results)} for {len(items)}")
            except Exception as exc:
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            finally:
                self._last_done = loop.time()
            self.batches += 1
            self.items += len(items)
            start = 0
            for p in live:
                if not p.future.done():
                    p.future.set_result(results[start : start + len(p.items)])
                start += len(p.items)
