"""MicroBatcher: concurrent callers share calls, results go back to the right caller."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sage.llm.engines.batcher import MicroBatcher


async def test_concurrent_submits_share_batches_in_order() -> None:
    gate = threading.Event()
    sizes: list[int] = []

    def double(items: list[int]) -> list[int]:
        gate.wait(5)  # the first call blocks until everyone has queued
        sizes.append(len(items))
        return [2 * i for i in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(double, max_batch=8, max_wait_s=0.001)
    batcher.start()
    try:
        tasks = [asyncio.create_task(batcher.submit([i, i + 100])) for i in range(10)]
        await asyncio.sleep(0.05)
        gate.set()
        results = await asyncio.gather(*tasks)
    finally:
        await batcher.stop()
    assert results == [[2 * i, 2 * (i + 100)] for i in range(10)]
    assert sum(sizes) == 20 and max(sizes) <= 8 and len(sizes) < 10


async def test_errors_reach_every_caller_of_the_batch() -> None:
    def boom(items: list[str]) -> list[str]:
        raise ValueError("bad batch")

    batcher: MicroBatcher[str, str] = MicroBatcher(boom)
    batcher.start()
    try:
        with pytest.raises(ValueError, match="bad batch"):
            await batcher.submit(["x"])
    finally:
        await batcher.stop()
