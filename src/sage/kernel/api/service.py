"""Services: long-lived objects that functions call by name (models, stores, pipelines).

``env.register_service(name, cls, *args, resources=..., **kwargs)`` creates one instance per job
(locally: one instance served by its own worker thread, so a service needs no locking;
on Ray: an actor). Functions call it with ``self.call_service(name, ...)`` or
``self.call_service_async(name, ...)``.

Pipeline-as-service: :class:`PipelineService` wraps a whole dataflow pipeline behind the
service interface; each call runs the pipeline (a bounded job on the calling runtime's
local environment) over the given inputs and returns the sink's records in order of
arrival.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from sage.kernel.core.function import BaseFunction

if TYPE_CHECKING:
    from sage.kernel.api.datastream import DataStream


class BaseService(BaseFunction):
    """Optional base class for services: gives ``open``/``close``, ``self.ctx`` and
    ``call_service`` (a service may call other services). The default method called by
    ``call_service(name, ...)`` is ``process``."""

    def process(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class PipelineService(BaseService):
    """A service whose implementation is a dataflow pipeline.

    ``build(stream) -> stream`` receives a stream of the request's inputs and returns
    the stream whose records are the answer, e.g.::

        env.register_service("enrich", PipelineService,
                             lambda s: s.map(Tokenize).filter(NotStop).map(Lookup))
        ...
        self.call_service("enrich", ["some", "words"])   # -> list of outputs

    A single non-list argument is treated as one input and, with ``single=True``
    (default), the single output is returned instead of a list.
    """

    def __init__(self, build: Callable[[DataStream], DataStream],
                 config: dict[str, Any] | None = None, single: bool = True) -> None:
        self.build = build
        self.config = dict(config or {})
        self.single = single
        self.calls = 0

    def process(self, data: Any) -> Any:
        from sage.kernel.api.environment import LocalEnvironment

        many = isinstance(data, list | tuple)
        inputs: Iterable[Any] = data if many else [data]
        self.calls += 1
        ctx = getattr(self, "ctx", None)
        name = ctx.operator_name if ctx is not None else "pipeline"
        env = LocalEnvironment(f"{name}-call{self.calls}", config=self.config)
        results: list[Any] = []
        self.build(env.from_batch(list(inputs))).sink(results.append)
        env.submit(autostop=True)
        if not many and self.single:
            return results[0] if len(results) == 1 else results
        return results
