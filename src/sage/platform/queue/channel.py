"""A bounded, blocking FIFO of messages with cancellation.

Why not ``queue.Queue``: a job that fails must wake every thread blocked on a full or
empty channel at once (``cancel``), and control messages (end-of-stream, loop
notifications) must never wait behind data or be refused by a full channel
(``put_control``). Nothing is ever dropped: ``put`` blocks until there is room or the
channel is cancelled, in which case it raises :class:`ChannelCancelled`.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from sage.common.errors import ConfigError


class ChannelCancelled(Exception):
    """The channel was cancelled (the job failed or is being torn down)."""


class BoundedChannel:
    """FIFO with ``capacity`` data slots; control messages bypass the capacity."""

    __slots__ = ("_capacity", "_items", "_lock", "_not_empty", "_not_full", "_cancelled",
                 "_data_items", "peak", "puts", "name")

    def __init__(self, capacity: int = 16, name: str = "") -> None:
        if capacity < 1:
            raise ConfigError("channel capacity must be >= 1")
        self._capacity = capacity
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()
        self._not_empty = threading.Condition(self._lock)
        self._not_full = threading.Condition(self._lock)
        self._cancelled = False
        self._data_items = 0
        self.peak = 0
        self.puts = 0
        self.name = name

    @property
    def capacity(self) -> int:
        return self._capacity

    def put(self, item: Any) -> None:
        """Append a data message, blocking while ``capacity`` data messages are queued."""
        with self._not_full:
            while self._data_items >= self._capacity:
                if self._cancelled:
                    raise ChannelCancelled(self.name)
                self._not_full.wait()
            if self._cancelled:
                raise ChannelCancelled(self.name)
            self._items.append((True, item))
            self._data_items += 1
            self.puts += 1
            if self._data_items > self.peak:
                self.peak = self._data_items
            self._not_empty.notify()

    def put_control(self, item: Any) -> None:
        """Append a control message; never blocks (control traffic is tiny and bounded)."""
        with self._lock:
            if self._cancelled:
                raise ChannelCancelled(self.name)
            self._items.append((False, item))
            self._not_empty.notify()

    def get(self) -> Any:
        """Remove and return the oldest message, blocking while the channel is empty."""
        with self._not_empty:
            while not self._items:
                if self._cancelled:
                    raise ChannelCancelled(self.name)
                self._not_empty.wait()
            is_data, item = self._items.popleft()
            if is_data:
                self._data_items -= 1
                self._not_full.notify()
            return item

    def empty(self) -> bool:
        """True when nothing is queued right now (used to decide when to flush batches)."""
        return not self._items

    def __len__(self) -> int:
        return len(self._items)

    def cancel(self) -> None:
        """Wake every blocked ``put``/``get`` with :class:`ChannelCancelled`."""
        with self._lock:
            self._cancelled = True
            self._not_empty.notify_all()
            self._not_full.notify_all()

    @property
    def cancelled(self) -> bool:
        return self._cancelled
