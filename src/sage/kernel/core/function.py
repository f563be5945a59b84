"""The function contract the API and the runtimes share: ``BaseFunction`` (life cycle,
``self.ctx``, service calls) and how a runtime turns what the user passed to an operator
(a class + args, an instance or a plain callable) into one instance per parallel task.

The user-facing subclasses (``MapFunction``, ``SinkFunction``...) live in
:mod:`sage.kernel.api.functions`; the runtimes only need this module.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from sage.common.errors import ConfigError
from sage.kernel.core.context import TaskContext


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
