"""Base classes users subclass for each operator; each has ``open()``/``close()``.

One instance is created per parallel task with the constructor arguments given to the
operator (``.map(MyFn, arg, kw=1, parallelism=3)``). ``self.ctx`` (a
:class:`~sage.kernel.core.context.TaskContext`) is set before ``open()``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any, Generic, TypeVar

from sage.kernel.core.function import BaseFunction

T = TypeVar("T")
U = TypeVar("U")


class SourceFunction(BaseFunction, Generic[T]):
    """Unbounded source: ``execute()`` returns the next record, or ``None`` for "nothing
    right now". It runs until the job is stopped (``env.stop()``)."""

    def execute(self) -> T | None:
        raise NotImplementedError


class BatchFunction(BaseFunction, Generic[T]):
    """Bounded source: ``execute()`` returns the next record, ``None`` when exhausted."""

    def execute(self) -> T | None:
        raise NotImplementedError


class MapFunction(BaseFunction, Generic[T, U]):
    """One record in, one record out."""

    def execute(self, data: T) -> U:
        raise NotImplementedError


class FilterFunction(BaseFunction, Generic[T]):
    """Keep the record when ``execute`` returns a truthy value."""

    def execute(self, data: T) -> bool:
        raise NotImplementedError


class FlatMapFunction(BaseFunction, Generic[T, U]):
    """One record in, any number out: return an iterable and/or call ``self.collect``.

    ``collect`` may also be called from ``close()`` to flush state at end of stream.
    """

    _collected: list[Any]

    def collect(self, data: U) -> None:
        self._collected.append(data)

    def execute(self, data: T) -> Iterable[U] | None:
        raise NotImplementedError


class KeyByFunction(BaseFunction, Generic[T]):
    """Extract the partitioning key of a record."""

    def execute(self, data: T) -> Hashable:
        raise NotImplementedError


class SinkFunction(BaseFunction, Generic[T]):
    """Consume records; ``close()`` runs after the last one."""

    def execute(self, data: T) -> None:
        raise NotImplementedError


class CoMapFunction(BaseFunction):
    """Connected streams: records of input ``i`` go to ``map{i}`` (``map0``, ``map1``, ...)."""

    def map0(self, data: Any) -> Any:
        raise NotImplementedError

    def map1(self, data: Any) -> Any:
        raise NotImplementedError


class JoinFunction(BaseFunction):
    """Keyed two-input join. ``execute(payload, key, tag)`` (tag 0 = left, 1 = right)
    returns an iterable of outputs (or ``None``). The default is a symmetric inner hash
    join that keeps both sides per key and emits ``self.merge(left, right, key)`` for
    each match; override ``merge`` or ``execute``. Instances see only their keys."""

    def open(self) -> None:
        self._sides: tuple[dict[Any, list[Any]], dict[Any, list[Any]]] = ({}, {})

    def merge(self, left: Any, right: Any, key: Any) -> Any:
        return (left, right)

    def execute(self, payload: Any, key: Any, tag: int) -> Iterable[Any] | None:
        if not hasattr(self, "_sides"):
            JoinFunction.open(self)
        mine, other = self._sides[tag], self._sides[1 - tag]
        mine.setdefault(key, []).append(payload)
        matches = other.get(key)
        if not matches:
            return None
        if tag == 0:
            return [self.merge(payload, m, key) for m in matches]
        return [self.merge(m, payload, key) for m in matches]


__all__ = ["BaseFunction", "BatchFunction", "CoMapFunction", "FilterFunction",
           "FlatMapFunction", "JoinFunction", "KeyByFunction", "MapFunction",
           "SinkFunction", "SourceFunction"]
