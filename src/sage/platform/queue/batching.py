"""Micro-batching on the writer side of a channel: collect records, hand off full lists.

Flushing is driven by the caller (on size, or when its upstream has nothing more right
now), never by a timer, so the data path has no sleeps and latency stays bounded by the
upstream's own pace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sage.common.errors import ConfigError


class BatchBuffer:
    """Accumulates records for one destination and calls ``send(batch)`` when full."""

    __slots__ = ("_send", "batch_size", "records")

    def __init__(self, send: Callable[[list[Any]], None], batch_size: int = 1024) -> None:
        if batch_size < 1:
            raise ConfigError("batch_size must be >= 1")
        self._send = send
        self.batch_size = batch_size
        self.records: list[Any] = []

    def extend(self, records: Iterable[Any]) -> None:
        self.records.extend(records)
        if len(self.records) >= self.batch_size:
            self._send_full()

    def append(self, record: Any) -> None:
        self.records.append(record)
        if len(self.records) >= self.batch_size:
            self._send_full()

    def _send_full(self) -> None:
        """Send every full batch; keep the remainder for later records or a flush."""
        records, size = self.records, self.batch_size
        full = len(records) - len(records) % size
        self.records = records[full:]
        for start in range(0, full, size):
            self._send(records[start:start + size])

    def flush(self) -> None:
        """Send whatever is buffered (in slices of at most ``batch_size``)."""
        self._send_full()
        if self.records:
            records, self.records = self.records, []
            self._send(records)

    def __len__(self) -> int:
        return len(self.records)
