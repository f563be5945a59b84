"""Multi-turn sessions sent closed loop: each turn after its session's previous answer,
carrying the real conversation so far (system prompt, earlier questions and the answers
the server gave), as a chat client does.

Open-loop arrivals stay the clock (a turn is sent at its time or once the previous answer
is in, whichever is later), so load still follows the workload's rate. A session's turns
share one prefix id (:mod:`sage.benchmark.serving.prefixes`); a session that outgrew
``max_history_tokens`` comes back under a new id and starts from its system prompt. An
engine that kept the previous turn's state (prompt and answer) then needs to evaluate only
the new question: what the oracle hit rate assumes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from sage.benchmark.serving.client import RequestRecord
from sage.benchmark.serving.prefixes import NO_PREFIX, prefix_text
from sage.benchmark.serving.workload import KIND_LLM, Workload, WorkloadSpec

Message = dict[str, str]


class Sessions:
    """The conversations of a workload's multi-turn tenants (``sessions > 0``)."""

    def __init__(self, workload: Workload, spec: WorkloadSpec) -> None:
        with_sessions = {t.name for t in spec.tenants if t.sessions}
        self._closed = {i for i, name in enumerate(workload.tenants) if name in with_sessions}
        self._workload = workload
        self._last: dict[int, asyncio.Event] = {}  # session -> its latest turn's done
        self._history: dict[int, list[Message]] = {}
        self._turns: dict[int, tuple[asyncio.Event | None, asyncio.Event]] = {}

    def session_of(self, row: int) -> int | None:
        """Row ``row``'s session id, ``None`` when it is not a session's turn."""
        w = self._workload
        if (
            w.prefix is None
            or int(w.kind[row]) != KIND_LLM
            or int(w.tenant[row]) not in self._closed
        ):
            return None
        pid = int(w.prefix[row])
        return None if pid == NO_PREFIX else pid

    def enter(self, row: int) -> None:
        """Queue row ``row`` behind its session's previous turn (call in row order)."""
        pid = self.session_of(row)
        if pid is None:
            return
        done = asyncio.Event()
        self._turns[row] = (self._last.get(pid), done)
        self._last[pid] = done

    async def turn(
        self,
        row: int,
        question: str,
        record: RequestRecord,
        t0: float,
        send: Callable[[list[Message]], Awaitable[None]],
    ) -> None:
        """Wait for the previous answer, then send the conversation plus ``question``;
        the answer (``record.answer``) joins the conversation."""
        pid = self.session_of(row)
        assert pid is not None and row in self._turns, "enter() the row first"
        previous, done = self._turns.pop(row)
        try:
            if previous is not None:
                await previous.wait()
            record.sent = time.perf_counter() - t0
            history = self._history.get(pid)
            if history is None:
                plen = (
                    int(self._workload.prefix_tokens[row])
                    if self._workload.prefix_tokens is not None
                    else 0
                )
                history = [{"role": "system", "content": prefix_text(pid, plen)}] if plen else []
            messages = [*history, {"role": "user", "content": question}]
            await send(messages)
            if record.answer:  # a failed turn leaves the conversation as it was
                self._history[pid] = [*messages, {"role": "assistant", "content": record.answer}]
            else:
                self._history[pid] = history
        finally:
            done.set()
