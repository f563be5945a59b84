"""``DataStream`` and ``ConnectedStreams``: the fluent, declarative pipeline API.

Every operator method adds a node to the environment's logical graph and returns a new
stream; nothing runs until ``env.submit()``. Reserved keyword options on every operator:
``parallelism``, ``name``, ``resources``, ``error_policy``; all other positional and
keyword arguments are forwarded to the function's constructor, once per parallel
instance.

``DataStream[T]`` is generic in its record type, so an IDE follows a pipeline:
``env.from_batch([1, 2]).map(str)`` is a ``DataStream[str]``. The examples below run as
doctests in ``make test``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sage.common.errors import ConfigError
from sage.kernel.api.sources import PrintSink
from sage.kernel.core.function import function_name
from sage.kernel.graph import (
    ErrorPolicy,
    FunctionSpec,
    LogicalEdge,
    LogicalGraph,
    OperatorSpec,
    Partition,
)
from sage.kernel.kinds import (
    COMAP,
    FILTER,
    FLATMAP,
    JOIN,
    MAP,
    MAP_BATCHES,
    SINK,
    OperatorKind,
)

if TYPE_CHECKING:
    from sage.kernel.api.functions import (
        CoMapFunction,
        FilterFunction,
        FlatMapFunction,
        JoinFunction,
        KeyByFunction,
        MapFunction,
        SinkFunction,
    )

T = TypeVar("T")
U = TypeVar("U")

OPTION_NAMES = ("parallelism", "name", "resources", "error_policy")


class PipelineOwner(Protocol):
    """What a stream needs from its environment (``BaseEnvironment`` is one): the graph
    it adds operators to and the default parallelism. A protocol, so this module does
    not import the environment that imports it."""

    _graph: LogicalGraph
    default_parallelism: int


def make_spec(env: PipelineOwner, kind: OperatorKind, fn: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any], bounded: bool = True) -> OperatorSpec:
    """Split reserved options from constructor kwargs and build an ``OperatorSpec``."""
    options = {k: kwargs.pop(k) for k in OPTION_NAMES if k in kwargs}
    if fn is None or not (callable(fn) or hasattr(fn, "execute")):
        raise ConfigError(f"{kind}: expected a function class, instance or callable, got {fn!r}")
    base = options.get("name") or function_name(fn)
    if not kind.source and base == "lambda":
        base = kind.name
    name = env._graph.unique_name(base) if "name" not in options else base
    return OperatorSpec(
        name=name, kind=kind, function=FunctionSpec(fn, tuple(args), dict(kwargs)),
        parallelism=_parallelism(options.get("parallelism", env.default_parallelism)),
        resources=dict(options.get("resources") or {}),
        error_policy=ErrorPolicy.parse(options.get("error_policy")),
        bounded=bounded,
    )


def _parallelism(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"parallelism must be an int >= 1, got {value!r}")
    return value


class DataStream(Generic[T]):
    """A stream of records of type ``T`` produced by one operator (optionally
    re-partitioned by :meth:`keyby`)."""

    def __init__(self, env: PipelineOwner, node: str,
                 partition: Partition | None = None) -> None:
        self.env = env
        self.node = node
        self.partition = partition or Partition()

    @property
    def name(self) -> str:
        return self.node

    def _edge(self, port: int = 0) -> LogicalEdge:
        return LogicalEdge(self.node, port, self.partition)

    def _then(self, kind: OperatorKind, fn: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> DataStream[Any]:
        spec = make_spec(self.env, kind, fn, args, kwargs)
        self.env._graph.add(spec, [self._edge()])
        return DataStream(self.env, spec.name)

    def map(self, fn: Callable[[T], U] | type[MapFunction[T, U]] | MapFunction[T, U],
            *args: Any, **kwargs: Any) -> DataStream[U]:
        """One output per record (a ``MapFunction`` or any callable).

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> out = env.collect(env.from_batch([1, 2, 3]).map(lambda x: x * 10))
        >>> _ = env.submit()
        >>> out
        [10, 20, 30]
        """
        return self._then(MAP, fn, args, kwargs)

    def map_batches(self, fn: Callable[[list[T]], Iterable[U]]
                    | type[MapFunction[list[T], Iterable[U]]],
                    *args: Any, **kwargs: Any) -> DataStream[U]:
        """A batch UDF: ``fn`` receives each micro-batch as a list and returns the
        outputs (any number, in order). For functions that are cheaper per batch than
        per record, e.g. one embedding request for many texts. A batch holds up to the
        job's ``batch_size`` records, fewer when records trickle in.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> out = env.collect(env.from_batch(["a", "b"]).map_batches(lambda xs: [x * 2 for x in xs]))
        >>> _ = env.submit()
        >>> out
        ['aa', 'bb']
        """
        return self._then(MAP_BATCHES, fn, args, kwargs)

    def filter(self, fn: Callable[[T], Any] | type[FilterFunction[T]] | FilterFunction[T],
               *args: Any, **kwargs: Any) -> DataStream[T]:
        """Keep records for which the function is truthy.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> out = env.collect(env.from_batch(range(6)).filter(lambda x: x % 2 == 0))
        >>> _ = env.submit()
        >>> out
        [0, 2, 4]
        """
        return self._then(FILTER, fn, args, kwargs)

    def flatmap(self, fn: Callable[[T], Iterable[U] | None] | type[FlatMapFunction[T, U]]
                | FlatMapFunction[T, U], *args: Any, **kwargs: Any) -> DataStream[U]:
        """Zero or more outputs per record (return an iterable or call ``self.collect``).

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> out = env.collect(env.from_batch(["a b", "c"]).flatmap(str.split))
        >>> _ = env.submit()
        >>> out
        ['a', 'b', 'c']
        """
        return self._then(FLATMAP, fn, args, kwargs)

    def sink(self, fn: Callable[[T], Any] | type[SinkFunction[T]] | SinkFunction[T],
             *args: Any, **kwargs: Any) -> DataStream[Any]:
        """Consume records (a ``SinkFunction`` or any callable). A sink runs where its
        task runs (a Ray actor on Ray); to get records back in the driver on every
        runtime use ``env.collect(stream)``.

        >>> from sage.kernel import LocalEnvironment
        >>> env, seen = LocalEnvironment("doc"), []
        >>> _ = env.from_batch([1, 2]).sink(seen.append)
        >>> _ = env.submit()
        >>> seen
        [1, 2]
        """
        return self._then(SINK, fn, args, kwargs)

    def print(self, prefix: str = "", **kwargs: Any) -> DataStream[Any]:
        """One line per record on the task's stdout.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> _ = env.from_batch(["hi"]).print("> ")
        >>> _ = env.submit()
        > hi
        """
        name = kwargs.pop("name", None) or self.env._graph.unique_name("print")
        return self._then(SINK, PrintSink, (prefix,), {"name": name, **kwargs})

    def keyby(self, selector: Callable[[T], Hashable] | type[KeyByFunction[T]] | None,
              strategy: str = "hash") -> DataStream[T]:
        """Re-partition the next operator's input: ``hash`` sends equal keys to the same
        instance (stable across runs and processes), ``broadcast`` to every instance,
        ``round_robin`` spreads evenly. ``self.ctx.current_key`` is the record's key.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> words = env.from_batch(["a", "b", "a"]).keyby(lambda w: w)
        >>> out = env.collect(words.map(lambda w: w.upper(), parallelism=2))
        >>> _ = env.submit()
        >>> sorted(out)
        ['A', 'A', 'B']
        """
        key = FunctionSpec(selector) if selector is not None else None
        return DataStream(self.env, self.node, Partition(strategy, key))  # type: ignore[arg-type]

    def connect(self, other: DataStream[Any] | ConnectedStreams) -> ConnectedStreams:
        """Combine with another stream: then ``comap``, ``join``, ``map`` (union)...

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> both = env.from_batch([1]).connect(env.from_batch([2]))
        >>> out = env.collect(both.map(lambda x: x + 1))
        >>> _ = env.submit()
        >>> sorted(out)
        [2, 3]
        """
        others = other.streams if isinstance(other, ConnectedStreams) else [other]
        return ConnectedStreams(self.env, [self, *others])

    def fill_future(self, future: DataStream[T]) -> None:
        """Close a feedback loop: this stream's records flow into ``future``'s consumers.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> loop = env.from_future("loop")
        >>> step = env.from_batch([1]).connect(loop).map(lambda x: x + 1)
        >>> step.filter(lambda x: x < 3).fill_future(loop)
        >>> out = env.collect(step)
        >>> _ = env.submit()
        >>> out
        [2, 3]
        """
        graph = self.env._graph
        node = graph.nodes.get(future.node)
        if node is None or not node.spec.kind.placeholder:
            raise ConfigError(f"{future.node!r} is not a future stream (use env.from_future)")
        if graph.futures.get(future.node) is not None:
            raise ConfigError(f"future {future.node!r} is already filled")
        graph.futures[future.node] = self.node


class ConnectedStreams:
    """Several streams feeding one multi-input operator; input ``i`` is ``streams[i]``."""

    def __init__(self, env: PipelineOwner, streams: Sequence[DataStream[Any]]) -> None:
        self.env = env
        self.streams = list(streams)

    def connect(self, other: DataStream[Any] | ConnectedStreams) -> ConnectedStreams:
        """Add more inputs (they get the next input numbers).

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> a, b, c = (env.from_batch([x]) for x in "abc")
        >>> out = env.collect(a.connect(b).connect(c).map(str.upper))
        >>> _ = env.submit()
        >>> sorted(out)
        ['A', 'B', 'C']
        """
        others = other.streams if isinstance(other, ConnectedStreams) else [other]
        return ConnectedStreams(self.env, [*self.streams, *others])

    def keyby(self, selector: Any | Sequence[Any], strategy: str = "hash") -> ConnectedStreams:
        """One selector for every input, or a list with one selector per input.

        >>> from sage.kernel import JoinFunction, LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> pairs = env.from_batch([("k", 1)]).connect(env.from_batch([{"id": "k"}]))
        >>> keyed = pairs.keyby([lambda t: t[0], lambda d: d["id"]])
        >>> out = env.collect(keyed.join(JoinFunction))
        >>> _ = env.submit()
        >>> out
        [(('k', 1), {'id': 'k'})]
        """
        if isinstance(selector, list | tuple):
            if len(selector) != len(self.streams):
                raise ConfigError("keyby needs one selector per connected input")
            selectors = list(selector)
        else:
            selectors = [selector] * len(self.streams)
        return ConnectedStreams(
            self.env, [s.keyby(k, strategy) for s, k in zip(self.streams, selectors, strict=True)]
        )

    def _multi(self, kind: OperatorKind, fn: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> DataStream[Any]:
        spec = make_spec(self.env, kind, fn, args, kwargs)
        self.env._graph.add(spec, [s._edge(i) for i, s in enumerate(self.streams)])
        return DataStream(self.env, spec.name)

    def comap(self, fn: type[CoMapFunction] | CoMapFunction, *args: Any,
              **kwargs: Any) -> DataStream[Any]:
        """Records of input ``i`` go to ``fn.map{i}`` (a ``CoMapFunction``).

        >>> from sage.kernel import CoMapFunction, LocalEnvironment
        >>> class Tag(CoMapFunction):
        ...     def map0(self, x): return ("left", x)
        ...     def map1(self, x): return ("right", x)
        >>> env = LocalEnvironment("doc")
        >>> both = env.from_batch([1]).connect(env.from_batch([2]))
        >>> out = env.collect(both.comap(Tag))
        >>> _ = env.submit()
        >>> sorted(out)
        [('left', 1), ('right', 2)]
        """
        return self._multi(COMAP, fn, args, kwargs)

    def join(self, fn: type[JoinFunction] | JoinFunction, *args: Any,
             **kwargs: Any) -> DataStream[Any]:
        """Keyed two-input join (``JoinFunction``); both inputs must be keyed.

        >>> from sage.kernel import JoinFunction, LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> names = env.from_batch([(1, "ann")])
        >>> ages = env.from_batch([(1, 42)])
        >>> pairs = names.connect(ages).keyby(lambda r: r[0]).join(JoinFunction)
        >>> out = env.collect(pairs)
        >>> _ = env.submit()
        >>> out
        [((1, 'ann'), (1, 42))]
        """
        if len(self.streams) != 2:
            raise ConfigError("join needs exactly two connected streams")
        return self._multi(JOIN, fn, args, kwargs)

    def map(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream[Any]:
        """Union: the same function applied to the records of every input.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> both = env.from_batch([1]).connect(env.from_batch([2]))
        >>> out = env.collect(both.map(lambda x: -x))
        >>> _ = env.submit()
        >>> sorted(out)
        [-2, -1]
        """
        return self._multi(MAP, fn, args, kwargs)

    def flatmap(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream[Any]:
        """Union, then :meth:`DataStream.flatmap`.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> both = env.from_batch(["a b"]).connect(env.from_batch(["c"]))
        >>> out = env.collect(both.flatmap(str.split))
        >>> _ = env.submit()
        >>> sorted(out)
        ['a', 'b', 'c']
        """
        return self._multi(FLATMAP, fn, args, kwargs)

    def filter(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream[Any]:
        """Union, then :meth:`DataStream.filter`.

        >>> from sage.kernel import LocalEnvironment
        >>> env = LocalEnvironment("doc")
        >>> both = env.from_batch([1, 2]).connect(env.from_batch([3, 4]))
        >>> out = env.collect(both.filter(lambda x: x % 2 == 0))
        >>> _ = env.submit()
        >>> sorted(out)
        [2, 4]
        """
        return self._multi(FILTER, fn, args, kwargs)

    def sink(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream[Any]:
        """Union, then :meth:`DataStream.sink`.

        >>> from sage.kernel import LocalEnvironment
        >>> env, seen = LocalEnvironment("doc"), []
        >>> _ = env.from_batch([1]).connect(env.from_batch([2])).sink(seen.append)
        >>> _ = env.submit()
        >>> sorted(seen)
        [1, 2]
        """
        return self._multi(SINK, fn, args, kwargs)
