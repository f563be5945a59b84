"""Environments hold a pipeline definition and submit it to a runtime.

``BaseEnvironment`` has the whole API (sources, services, submit/stop, metrics); a
subclass only supplies the runtime through ``_create_runtime``. ``LocalEnvironment``
runs in this process with threads; ``RemoteEnvironment`` (``sage.kernel``, Ray) runs the
same plan on actors.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sage.common.errors import ConfigError
from sage.kernel.api.datastream import DataStream, make_spec
from sage.kernel.api.functions import BatchFunction, SourceFunction
from sage.kernel.api.sources import CollectSink, IterableSource, SharedIterator
from sage.kernel.core.function import BaseFunction
from sage.kernel.core.job import JobMetrics, Runtime, ServiceSpec
from sage.kernel.core.progress import report_progress
from sage.kernel.graph import LogicalGraph, OperatorSpec
from sage.kernel.kinds import COLLECT, DEAD_LETTER, FUTURE, SOURCE
from sage.kernel.plan import PhysicalPlan, PlanConfig, compile_plan

T = TypeVar("T")


class BaseEnvironment:
    """A named dataflow job under construction; ``submit`` compiles and runs it.

    ``config`` keys: ``parallelism`` (default per operator, 1), ``batch_size`` (1024),
    ``channel_capacity`` (8 batches per task inbox), ``chaining`` (True),
    ``error_policy`` (job default: ``fail``).
    """

    def __init__(self, name: str = "sage_job", config: dict[str, Any] | None = None) -> None:
        self.name = name
        self.config: dict[str, Any] = dict(config or {})
        self.plan_config = PlanConfig.from_mapping(self.config)
        self.default_parallelism = int(self.config.get("parallelism", 1))
        self._graph = LogicalGraph()
        self._services: dict[str, ServiceSpec] = {}
        self._runtime: Runtime | None = None
        self._plan: PhysicalPlan | None = None

    # -- runtime hook -----------------------------------------------------------------
    def _create_runtime(self) -> Runtime:
        """Return a fresh runtime for one job; subclasses override this only."""
        raise NotImplementedError

    # -- sources ----------------------------------------------------------------------
    def _source(self, source: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                bounded: bool) -> DataStream[Any]:
        if isinstance(source, type) and issubclass(source, BaseFunction) or isinstance(
            source, BaseFunction
        ):
            spec = make_spec(self, SOURCE, source, args, kwargs, bounded=bounded)
        elif isinstance(source, str | bytes) or not isinstance(source, Iterable):
            raise ConfigError(
                f"a source must be a SourceFunction/BatchFunction class or an iterable, "
                f"got {type(source).__name__}"
            )
        else:
            consumers = kwargs.get("parallelism", self.default_parallelism)
            data = (source if isinstance(source, Sequence)
                    else SharedIterator(source, consumers=consumers))
            kwargs.setdefault("name", self._graph.unique_name("source"))
            spec = make_spec(self, SOURCE, IterableSource, (data,), kwargs, bounded=bounded)
        self._graph.add(spec)
        return DataStream(self, spec.name)

    def from_batch(self, source: Iterable[T] | type[BatchFunction[T]] | BatchFunction[T],
                   *args: Any, **kwargs: Any) -> DataStream[T]:
        """Bounded source: a ``BatchFunction`` class (``execute()`` returns ``None`` at
        the end) or any list/iterable. Parallel instances share the data without overlap.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> out = env.collect(env.from_batch(["a", "b"]))
        >>> _ = env.submit()
        >>> out
        ['a', 'b']
        """
        return self._source(source, args, kwargs, bounded=True)

    def from_collection(self, source: Any, *args: Any, **kwargs: Any) -> DataStream[Any]:
        """Deprecated alias of :meth:`from_batch`."""
        warnings.warn("from_collection is deprecated; use from_batch", DeprecationWarning,
                      stacklevel=2)
        return self._source(source, args, kwargs, bounded=True)

    def from_source(self, source: type[SourceFunction[T]] | SourceFunction[T], *args: Any,
                    **kwargs: Any) -> DataStream[T]:
        """Unbounded source: a ``SourceFunction`` class whose ``execute()`` returns a
        record or ``None`` (nothing right now); runs until :meth:`stop`.

        >>> import itertools
        >>> from sage.kernel import LocalEnvironment, SourceFunction
        >>> class Ticks(SourceFunction):
        ...     def open(self): self.n = itertools.count()
        ...     def execute(self): return next(self.n)
        >>> env = LocalEnvironment("doc")
        >>> _ = env.from_source(Ticks).filter(lambda n: n == 100).sink(lambda n: env.stop())
        >>> _ = env.submit()
        >>> env.metrics().status
        'stopped'
        """
        return self._source(source, args, kwargs, bounded=False)

    def from_future(self, name: str) -> DataStream[Any]:
        """A placeholder stream closed later with ``stream.fill_future(future)`` (see
        :meth:`DataStream.fill_future`)."""
        node = self._graph.unique_name(f"future:{name}")
        self._graph.add(OperatorSpec(node, FUTURE, None))
        self._graph.futures[node] = None
        return DataStream(self, node)

    def dead_letters(self, name: str = "dead_letter") -> DataStream[Any]:
        """The stream of :class:`~sage.kernel.graph.DeadLetter` records of every operator
        with ``error_policy="dead_letter:NAME"``; attach a sink to it.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> _ = env.from_batch([1, 0]).map(lambda x: 1 // x, error_policy="dead_letter")
        >>> letters = env.collect(env.dead_letters())
        >>> _ = env.submit()
        >>> [(d.record, d.error) for d in letters]
        [(0, 'ZeroDivisionError: integer division or modulo by zero')]
        """
        node = f"dead_letter:{name}"
        if node not in self._graph.nodes:
            from sage.kernel.graph import ErrorPolicy

            self._graph.add(OperatorSpec(node, DEAD_LETTER, None, 1,
                                         error_policy=ErrorPolicy("fail")))
        return DataStream(self, node)

    def collect(self, stream: DataStream[T], on_record: Callable[[T], Any] | None = None,
                *, parallelism: int = 1, name: str | None = None) -> list[T]:
        """A list that receives ``stream``'s records in this (the driver's) process, on
        every runtime. Locally records arrive as they are produced (``on_record`` is
        called for each, from the producing task's thread); on Ray each collecting task's
        records arrive when it finishes. Complete once ``submit()`` (or ``wait()``)
        returns. For bounded or small results: the records are kept in memory.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> squares = env.collect(env.from_batch([1, 2, 3]).map(lambda x: x * x))
        >>> _ = env.submit()
        >>> squares
        [1, 4, 9]
        """
        records: list[T] = []
        options = {"parallelism": parallelism,
                   "name": name or self._graph.unique_name("collect")}
        spec = make_spec(self, COLLECT, CollectSink, (records, on_record), options)
        self._graph.add(spec, [stream._edge()])
        return records

    # -- services ---------------------------------------------------------------------
    def register_service(self, name: str, service: Any, *args: Any,
                         resources: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Register a service class (instantiated once per job with the args) or object.

        ``resources=`` (``num_gpus``, ``num_cpus``, ``memory``, custom labels) is reserved,
        like on operators: recorded locally, honoured by Ray when placing the service.

        >>> from sage.kernel import LocalEnvironment, MapFunction
        >>> class Lookup(MapFunction):
        ...     def execute(self, word): return self.call_service("lexicon", word)
        >>> env = LocalEnvironment("doc")
        >>> env.register_service("lexicon", {"hi": "greeting"}.get)
        >>> out = env.collect(env.from_batch(["hi"]).map(Lookup))
        >>> _ = env.submit()
        >>> out
        ['greeting']
        """
        if name in self._services:
            raise ConfigError(f"service {name!r} is already registered")
        if resources is not None and not isinstance(resources, dict):
            raise ConfigError(f"service {name!r}: resources must be a dict, got {resources!r}")
        self._services[name] = ServiceSpec(name, service, tuple(args), dict(kwargs),
                                           dict(resources or {}))

    # -- running ------------------------------------------------------------------------
    def compile(self) -> PhysicalPlan:
        """The physical plan ``submit`` would run (stages, chains, resources).

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> _ = env.from_batch([1]).map(abs).filter(bool).sink(print)
        >>> [s["operators"] for s in env.compile().describe()["stages"]]
        [['source', 'abs', 'bool', 'print']]
        """
        return compile_plan(self._graph, self.name, self.plan_config)

    def submit(self, autostop: bool = True) -> JobMetrics | None:
        """Run the job. ``autostop=True`` blocks until every source has ended and every
        sink is closed, then returns the metrics (raises ``JobFailedError`` on failure).
        ``autostop=False`` returns at once; end the job with :meth:`stop`."""
        if self._runtime is not None and self._runtime.running:
            raise ConfigError(f"job {self.name!r} is already running")
        self._plan = self.compile()
        self._runtime = self._create_runtime()
        self._runtime.start(self._plan, list(self._services.values()))
        report_progress(self._plan, self._runtime)  # for the job manager / studio, if asked
        if autostop:
            self._runtime.wait()
            return self._runtime.metrics()
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (``False`` on timeout); raises if it failed."""
        if self._runtime is None:
            return True
        return self._runtime.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        """Stop the sources and let the job drain (blocks unless called from a task)."""
        if self._runtime is None:
            return
        self._runtime.stop()
        in_task = getattr(self._runtime, "in_task_thread", None)
        if in_task is not None and in_task():
            return
        self._runtime.wait(timeout)

    def close(self) -> None:
        """Deprecated alias of :meth:`stop`."""
        warnings.warn("close is deprecated; use stop", DeprecationWarning, stacklevel=2)
        self.stop()

    def metrics(self) -> JobMetrics:
        """Records in/out, skipped and dead-lettered counts per operator."""
        if self._runtime is None:
            return JobMetrics(job_name=self.name)
        return self._runtime.metrics()

    @property
    def plan(self) -> PhysicalPlan | None:
        return self._plan


class LocalEnvironment(BaseEnvironment):
    """Runs the job in this process: one thread per task, bounded channels, no ports."""

    def _create_runtime(self) -> Runtime:
        from sage.kernel.runtime.local import LocalRuntime

        return LocalRuntime()
