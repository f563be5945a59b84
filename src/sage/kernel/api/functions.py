"""Base classes users subclass for each operator; each has ``open()``/``close()``.

One instance is created per parallel task with the constructor arguments given to the
operator (``.map(MyFn, arg, kw=1, parallelism=3)``). ``self.ctx`` (a
:class:`~sage.kernel.api.context.TaskContext`) is set before ``open()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from concurrent.futures import Future
from typing import Any

from sage.common.errors import ConfigError
from sage.kernel.api.context import TaskContext


class BaseFunction:
    """Common life cycle, context and service access for every function."""

    ctx: TaskContext

    def open(self) -> None:
        """Called once per instance before the first record (after ``self.ctx`` is set)."""

    def close(self) -> None:
        """Called once per instance after the last record (also on failure, best effort)."""

    @property
    def logger(self) -> logging.Logger:
        return self.ctx.logger

    def call_service(self, name: str, *args: Any, method: str | None = None,
                     timeout: float | None = None, **kwargs: Any) -> Any:
        """Call ``method`` (default ``process`` or ``__call__``) of service ``name``; blocks."""
        caller = self._service_caller()
        return caller.call(name, args, kwargs, method, timeout)

    def call_service_async(self, name: str, *args: Any, method: str | None = None,
                           **kwargs: Any) -> Future[Any]:
        """Like :meth:`call_service` but returns a ``concurrent.futures.Future`` at once."""
        caller = self._service_caller()
        return caller.call_async(name, args, kwargs, method)

    def _service_caller(self) -> Any:
        ctx = getattr(self, "ctx", None)
        if ctx is None or ctx.services is None:
            raise ConfigError("services are only available inside a running job")
        return ctx.services


class SourceFunction(BaseFunction):
    """Unbounded source: ``execute()`` returns the next record, or ``None`` for "nothing
    right now". It runs until the job is stopped (``env.stop()``)."""

    def execute(self) -> Any:
        raise NotImplementedError


class BatchFunction(BaseFunction):
    """Bounded source: ``execute()`` returns the next record, ``None`` when exhausted."""

    def execute(self) -> Any:
        raise NotImplementedError


class MapFunction(BaseFunction):
    """One record in, one record out."""

    def execute(self, data: Any) -> Any:
        raise NotImplementedError


class FilterFunction(BaseFunction):
    """Keep the record when ``execute`` returns a truthy value."""

    def execute(self, data: Any) -> bool:
        raise NotImplementedError


class FlatMapFunction(BaseFunction):
    """One record in, any number out: return an iterable and/or call ``self.collect``.

    ``collect`` may also be called from ``close()`` to flush state at end of stream.
    """

    _collected: list[Any]

    def collect(self, data: Any) -> None:
        self._collected.append(data)

    def execute(self, data: Any) -> Iterable[Any] | None:
        raise NotImplementedError


class KeyByFunction(BaseFunction):
    """Extract the partitioning key of a record."""

    def execute(self, data: Any) -> Hashable:
        raise NotImplementedError


class SinkFunction(BaseFunction):
    """Consume records; ``close()`` runs after the last one."""

    def execute(self, data: Any) -> None:
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


KIND_BASES: dict[str, type[BaseFunction]] = {
    "source": SourceFunction,
    "batch": BatchFunction,
    "map": MapFunction,
    "filter": FilterFunction,
    "flatmap": FlatMapFunction,
    "keyby": KeyByFunction,
    "sink": SinkFunction,
    "comap": CoMapFunction,
    "join": JoinFunction,
}


class _CallableFunction(BaseFunction):
    """Adapter so a lambda or plain callable can stand in for any function kind."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.execute = fn  # bound straight to the callable: no extra call on the data path
        self.fn = fn

    def __repr__(self) -> str:
        return f"<callable {getattr(self.fn, '__name__', self.fn)!r}>"


def function_name(factory: Any) -> str:
    """A readable default operator name for a class, instance or callable."""
    if isinstance(factory, type):
        return factory.__name__
    if isinstance(factory, BaseFunction) and not isinstance(factory, _CallableFunction):
        return type(factory).__name__
    name = getattr(factory, "__name__", None) or type(factory).__name__
    return "lambda" if name == "<lambda>" else name


def instantiate(factory: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> BaseFunction:
    """Make one function instance: a class is called with the args, an instance is
    copied (each parallel instance gets its own state), a callable is wrapped."""
    import copy

    if isinstance(factory, type):
        if issubclass(factory, BaseFunction):
            return factory(*args, **kwargs)
        raise ConfigError(f"{factory.__name__} is not a SAGE function class")
    if isinstance(factory, BaseFunction):
        return copy.deepcopy(factory)
    if callable(factory):
        if args or kwargs:
            fn = factory

            def bound(*call_args: Any) -> Any:
                return fn(*call_args, *args, **kwargs)

            return _CallableFunction(bound)
        return _CallableFunction(factory)
    raise ConfigError(f"not a function: {factory!r}")
