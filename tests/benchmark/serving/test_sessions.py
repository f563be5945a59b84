"""Multi-turn sessions run closed loop and send the real conversation so far."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from sage.benchmark.serving.client import RequestRecord
from sage.benchmark.serving.sessions import Message, Sessions
from sage.benchmark.serving.workload import WorkloadSpec, generate


def test_a_turn_waits_for_the_previous_answer_and_carries_it() -> None:
    w = generate(WorkloadSpec.load("multi-turn"), 50.0, n=80, seed=3)
    assert w.prefix is not None
    first = int(w.prefix[0])
    rows = [int(r) for r in np.flatnonzero(w.prefix == first)[:3]]
    assert len(rows) == 3
    sessions = Sessions(w, WorkloadSpec.load("multi-turn"))
    sent: list[tuple[int, float, list[Message]]] = []
    answered: dict[int, float] = {}

    async def run() -> None:
        t0 = time.perf_counter()

        async def one(row: int) -> None:
            record = RequestRecord(row, 0, "team", 0.0)

            async def send(messages: list[Message]) -> None:
                sent.append((row, time.perf_counter(), messages))
                await asyncio.sleep(0.02)
                record.answer = f"answer {row}"
                answered[row] = time.perf_counter()

            await sessions.turn(row, f"question {row}", record, t0, send)

        for row in rows:
            sessions.enter(row)
        await asyncio.gather(*(one(r) for r in reversed(rows)))  # started out of order

    asyncio.run(run())
    assert [row for row, _, _ in sent] == rows  # closed loop: one turn at a time, in order
    for (row, at, _), previous in zip(sent[1:], rows, strict=False):
        assert at >= answered[previous], row
    last = sent[-1][2]
    assert last[0]["role"] == "system"
    assert [m["content"] for m in last[1:]] == [
        f"question {rows[0]}", f"answer {rows[0]}",
        f"question {rows[1]}", f"answer {rows[1]}",
        f"question {rows[2]}",
    ]  # fmt: skip


def test_shared_prefix_rows_are_not_sessions() -> None:
    spec = WorkloadSpec.load("shared-prefix")
    w = generate(spec, 2.0, n=40, seed=0)
    sessions = Sessions(w, spec)
    assert all(sessions.session_of(i) is None for i in range(len(w)))
