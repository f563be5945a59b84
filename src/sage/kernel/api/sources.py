"""Built-in functions: the sources ``from_batch``/``from_source`` build over data, and
the print and collect sinks.

A sequence (list, tuple, range...) is split into contiguous shares, one per parallel
instance, so parallel sources need no coordination (and pickle cleanly for Ray). Any
other iterable (generators, ``itertools.count()``) is shared through a lock-protected
iterator, from which instances pull whole micro-batches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sage.kernel.api.functions import BaseFunction, SinkFunction


class SharedIterator:
    """An iterator that several source instances in one process can pull batches from.

    It cannot be split across processes: pickling it (for a remote runtime) materialises
    the remaining items when there is a single consumer and fails otherwise.
    """

    def __init__(self, iterable: Iterable[Any], consumers: int = 1) -> None:
        self._it: Iterator[Any] = iter(iterable)
        self._lock = threading.Lock()
        self.consumers = consumers

    def __reduce__(self) -> tuple[Any, ...]:
        if self.consumers != 1:
            raise TypeError(
                "a generator/iterator source with parallelism > 1 only runs locally; "
                "pass a list or range, or a BatchFunction"
            )
        with self._lock:
            return (SharedIterator, (list(self._it), 1))

    def take(self, n: int) -> list[Any]:
        with self._lock:
            return list(islice(self._it, n))

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedIterator:
        return self  # shared on purpose


class IterableSource(BaseFunction):
    """Emits the records of a sequence or iterable, in micro-batches."""

    def __init__(self, data: Sequence[Any] | SharedIterator) -> None:
        self.data = data
        self._pos = 0
        self._end = 0

    def open(self) -> None:
        if isinstance(self.data, Sequence):
            n, p, i = len(self.data), self.ctx.parallelism, self.ctx.index
            self._pos, self._end = i * n // p, (i + 1) * n // p

    def next_batch(self, n: int) -> tuple[list[Any], bool]:
        data = self.data
        if isinstance(data, SharedIterator):
            chunk = data.take(n)
            return chunk, len(chunk) < n
        start = self._pos
        stop = min(start + n, self._end)
        self._pos = stop
        chunk = data[start:stop]
        if type(chunk) is not list:
            chunk = list(chunk)
        return chunk, stop >= self._end

    def execute(self) -> Any:  # pragma: no cover - next_batch is always used
        batch, _ = self.next_batch(1)
        return batch[0] if batch else None


class PrintSink(SinkFunction):
    """``stream.print(prefix)``: one line per record on stdout."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def execute(self, data: Any) -> None:
        print(f"{self.prefix}{data}", flush=True)


class CollectSink(SinkFunction):
    """Appends records to a list shared by every instance in this process, and calls
    ``on_record`` for each. ``env.collect(stream)`` uses it on every runtime; as a plain
    ``.sink(CollectSink, target)`` it only fills ``target`` on the local runtime."""

    def __init__(self, target: list[Any],
                 on_record: Callable[[Any], Any] | None = None) -> None:
        self.target = target
        self.on_record = on_record

    def execute(self, data: Any) -> None:
        self.target.append(data)
        if self.on_record is not None:
            self.on_record(data)

    def __deepcopy__(self, memo: dict[int, Any]) -> CollectSink:
        return CollectSink(self.target, self.on_record)
