"""Output routing of a task: partition records over an out-edge's destination
instances (forward, hash, round-robin, broadcast) and micro-batch them per destination,
plus the two interfaces a runtime supplies to a task (:class:`Transport`,
:class:`LoopTracker`).
"""

from __future__ import annotations

import traceback
from typing import Any, Protocol

from sage.kernel.partition import stable_hash
from sage.kernel.plan import PlanEdge
from sage.kernel.runtime.runners import OperatorError
from sage.platform.queue import BatchBuffer


class Transport(Protocol):
    """Delivers micro-batches and end-of-stream to ``(edge.dst_stage, dst_index)``."""

    def send(self, edge: PlanEdge, dst_index: int, channel: int, batch: list[Any]) -> None: ...

    def send_eos(self, edge: PlanEdge, dst_index: int, channel: int) -> None: ...


class LoopTracker(Protocol):
    """Counts records in flight inside one loop (see :class:`~sage.kernel.plan.LoopSpec`)."""

    def add(self, n: int) -> None: ...

    def done(self, n: int) -> None: ...

    def external_done(self) -> None: ...


class EdgeRouter:
    """Partitions a task's outputs over one out-edge and micro-batches them per target
    (one :class:`~sage.platform.queue.BatchBuffer` per destination instance)."""

    __slots__ = ("edge", "transport", "channel", "batch_size", "buffers", "parallelism",
                 "_key", "_rr", "_tracker", "_strategy", "_src_index", "_lists")

    def __init__(self, edge: PlanEdge, src_index: int, transport: Transport, batch_size: int,
                 key: Any, tracker: LoopTracker | None) -> None:
        self.edge = edge
        self.transport = transport
        self.channel = edge.channel_offset + src_index
        self.batch_size = batch_size
        self.parallelism = edge.dst_parallelism
        self.buffers = [BatchBuffer(self._sender(i), batch_size)
                        for i in range(self.parallelism)]
        self._key = key
        self._rr = src_index % self.parallelism
        self._tracker = tracker if edge.in_loop else None
        self._src_index = src_index
        strategy = edge.strategy
        if self.parallelism == 1 and strategy != "broadcast":
            strategy = "single"
        self._strategy = strategy

    def _sender(self, dst_index: int) -> Any:
        send, edge, channel = self.transport.send, self.edge, self.channel

        def deliver(batch: list[Any]) -> None:
            send(edge, dst_index, channel, batch)

        return deliver

    def emit(self, records: list[Any]) -> None:
        strategy = self._strategy
        buffers = self.buffers
        if self._tracker is not None:
            fan = self.parallelism if strategy == "broadcast" else 1
            self._tracker.add(len(records) * fan)
        if strategy == "single":
            buffers[0].extend(records)
            return
        if strategy == "forward":
            buffers[self._src_index].extend(records)
            return
        p = self.parallelism
        if strategy == "hash":
            key = self._key
            lists = [b.records for b in buffers]
            try:
                for r in records:
                    lists[stable_hash(key(r)) % p].append(r)
            except Exception as exc:
                raise OperatorError(f"keyby->{self.edge.dst_stage}", exc,
                                    traceback.format_exc()) from exc
            size = self.batch_size
            for b in buffers:
                if len(b.records) >= size:
                    b.flush()
        elif strategy == "round_robin":
            n = len(records)
            rr = self._rr
            if n < p:
                for r in records:
                    buffers[rr].append(r)
                    rr = (rr + 1) % p
                self._rr = rr
            else:
                for j in range(p):
                    buffers[(rr + j) % p].extend(records[j * n // p:(j + 1) * n // p])
                self._rr = (rr + 1) % p
        else:  # broadcast
            for b in buffers:
                b.extend(records)

    def flush(self) -> None:
        for b in self.buffers:
            if b.records:
                b.flush()

    def send_eos(self) -> None:
        self.flush()
        for i in range(self.parallelism):
            self.transport.send_eos(self.edge, i, self.channel)
