"""Local service hosting: one instance per service, served by its own worker thread.

One worker per service makes calls sequential, like a Ray actor, so services need no
locks. Sync calls block the calling task (with an optional timeout); async calls return
a ``concurrent.futures.Future``. A service must not call itself synchronously.
"""

from __future__ import annotations

import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sage.common.errors import ConfigError, JobFailedError
from sage.common.logging import get_logger
from sage.kernel.core.context import ServiceCaller, TaskContext
from sage.kernel.core.function import BaseFunction
from sage.kernel.core.job import ServiceSpec


def resolve_method(service: Any, name: str, method: str | None) -> Any:
    """The bound method ``call_service`` invokes (default ``process``, else ``__call__``)."""
    if method is None:
        target = getattr(service, "process", None)
        if target is None and callable(service):
            target = service
    else:
        target = getattr(service, method, None)
    if target is None or not callable(target):
        raise ConfigError(f"service {name!r} has no method {method or 'process'!r}")
    return target


def open_service(spec: ServiceSpec, job_name: str, caller: ServiceCaller) -> Any:
    """Create one service instance (a class is called with the args, anything else is
    the service itself), give it a context when it is a SAGE function, and open it.
    Shared by the local host and the Ray service actor so both behave the same."""
    factory = spec.factory
    instance = factory(*spec.args, **spec.kwargs) if isinstance(factory, type) else factory
    if isinstance(instance, BaseFunction):
        instance.ctx = TaskContext(
            job_name=job_name, task_name=f"service:{spec.name}", operator_name=spec.name,
            index=0, parallelism=1, logger=get_logger(f"kernel.service.{spec.name}"),
            services=caller,
        )
    opener = getattr(instance, "open", None)
    if callable(opener):
        opener()
    return instance


class LocalServiceHost:
    """Implements :class:`~sage.kernel.core.context.ServiceCaller` for the local runtime."""

    def __init__(self, specs: list[ServiceSpec], job_name: str) -> None:
        self.specs = {s.name: s for s in specs}
        self.job_name = job_name
        self.instances: dict[str, Any] = {}
        self._executors: dict[str, ThreadPoolExecutor] = {}

    def start(self) -> None:
        """Create and open every service; on failure close those already started."""
        for name, spec in self.specs.items():
            try:
                self._start_one(name, spec)
            except Exception as exc:
                self.close()
                raise JobFailedError(f"service:{name}", f"{type(exc).__name__}: {exc}",
                                     traceback.format_exc()) from exc

    def _start_one(self, name: str, spec: ServiceSpec) -> None:
        self.instances[name] = open_service(spec, self.job_name, self)
        self._executors[name] = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"sage-service-{name}"
        )

    def _submit(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                method: str | None) -> Future[Any]:
        if name not in self.instances:
            raise ConfigError(f"no service named {name!r}; known: {sorted(self.instances)}")
        target = resolve_method(self.instances[name], name, method)
        return self._executors[name].submit(target, *args, **kwargs)

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
             method: str | None, timeout: float | None) -> Any:
        return self._submit(name, args, kwargs, method).result(timeout)

    def call_async(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                   method: str | None) -> Future[Any]:
        return self._submit(name, args, kwargs, method)

    def close(self) -> None:
        for executor in self._executors.values():
            executor.shutdown(wait=True)
        for name, instance in self.instances.items():
            closer = getattr(instance, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception:  # noqa: BLE001 - one bad service must not hide others
                    get_logger("kernel.service").exception("closing service %s failed", name)
        self._executors.clear()
