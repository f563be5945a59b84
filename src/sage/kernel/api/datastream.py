"""``DataStream`` and ``ConnectedStreams``: the fluent, declarative pipeline API.

Every operator method adds a node to the environment's logical graph and returns a new
stream; nothing runs until ``env.submit()``. Reserved keyword options on every operator:
``parallelism``, ``name``, ``resources``, ``error_policy``; all other positional and
keyword arguments are forwarded to the function's constructor, once per parallel
instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

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


class PipelineOwner(Protocol):
    """What a stream needs from its environment (``BaseEnvironment`` is one): the graph
    it adds operators to and the default parallelism. A protocol, so this module does
    not import the environment that imports it."""

    _graph: LogicalGraph
    default_parallelism: int

OPTION_NAMES = ("parallelism", "name", "resources", "error_policy")


def make_spec(env: PipelineOwner, kind: str, fn: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any], bounded: bool = True) -> OperatorSpec:
    """Split reserved options from constructor kwargs and build an ``OperatorSpec``."""
    options = {k: kwargs.pop(k) for k in OPTION_NAMES if k in kwargs}
    if fn is None or not (callable(fn) or hasattr(fn, "execute")):
        raise ConfigError(f"{kind}: expected a function class, instance or callable, got {fn!r}")
    base = options.get("name") or function_name(fn)
    if kind != "source" and base == "lambda":
        base = kind
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


class DataStream:
    """A stream of records produced by one operator (optionally re-partitioned)."""

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

    def _then(self, kind: str, fn: Any, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> DataStream:
        spec = make_spec(self.env, kind, fn, args, kwargs)
        self.env._graph.add(spec, [self._edge()])
        return DataStream(self.env, spec.name)

    def map(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """One output per record (``MapFunction`` or callable)."""
        return self._then("map", fn, args, kwargs)

    def filter(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """Keep records for which the function is truthy."""
        return self._then("filter", fn, args, kwargs)

    def flatmap(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """Zero or more outputs per record (return an iterable or call ``self.collect``)."""
        return self._then("flatmap", fn, args, kwargs)

    def sink(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """Consume records (``SinkFunction`` or callable)."""
        return self._then("sink", fn, args, kwargs)

    def print(self, prefix: str = "", **kwargs: Any) -> DataStream:
        name = kwargs.pop("name", None) or self.env._graph.unique_name("print")
        return self._then("sink", PrintSink, (prefix,), {"name": name, **kwargs})

    def keyby(self, selector: Any, strategy: str = "hash") -> DataStream:
        """Re-partition the next operator's input: ``hash`` sends equal keys to the same
        instance (stable across runs and processes), ``broadcast`` to every instance,
        ``round_robin`` spreads evenly. ``self.ctx.current_key`` is the record's key."""
        key = FunctionSpec(selector) if selector is not None else None
        return DataStream(self.env, self.node, Partition(strategy, key))  # type: ignore[arg-type]

    def connect(self, other: DataStream | ConnectedStreams) -> ConnectedStreams:
        """Combine with another stream: then ``comap``, ``join``, ``map`` (union)..."""
        others = other.streams if isinstance(other, ConnectedStreams) else [other]
        return ConnectedStreams(self.env, [self, *others])

    def fill_future(self, future: DataStream) -> None:
        """Close a feedback loop: this stream's records flow into ``future``'s consumers."""
        graph = self.env._graph
        node = graph.nodes.get(future.node)
        if node is None or node.spec.kind != "future":
            raise ConfigError(f"{future.node!r} is not a future stream (use env.from_future)")
        if graph.futures.get(future.node) is not None:
            raise ConfigError(f"future {future.node!r} is already filled")
        graph.futures[future.node] = self.node


class ConnectedStreams:
    """Several streams feeding one multi-input operator; input ``i`` is ``streams[i]``."""

    def __init__(self, env: PipelineOwner, streams: Sequence[DataStream]) -> None:
        self.env = env
        self.streams = list(streams)

    def connect(self, other: DataStream | ConnectedStreams) -> ConnectedStreams:
        others = other.streams if isinstance(other, ConnectedStreams) else [other]
        return ConnectedStreams(self.env, [*self.streams, *others])

    def keyby(self, selector: Any | Sequence[Any], strategy: str = "hash") -> ConnectedStreams:
        """One selector for every input, or a list with one selector per input."""
        if isinstance(selector, list | tuple):
            if len(selector) != len(self.streams):
                raise ConfigError("keyby needs one selector per connected input")
            selectors = list(selector)
        else:
            selectors = [selector] * len(self.streams)
        return ConnectedStreams(
            self.env, [s.keyby(k, strategy) for s, k in zip(self.streams, selectors, strict=True)]
        )

    def _multi(self, kind: str, fn: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> DataStream:
        spec = make_spec(self.env, kind, fn, args, kwargs)
        self.env._graph.add(spec, [s._edge(i) for i, s in enumerate(self.streams)])
        return DataStream(self.env, spec.name)

    def comap(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """Records of input ``i`` go to ``fn.map{i}`` (a ``CoMapFunction``)."""
        return self._multi("comap", fn, args, kwargs)

    def join(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """Keyed two-input join (``JoinFunction``); both inputs must be keyed."""
        if len(self.streams) != 2:
            raise ConfigError("join needs exactly two connected streams")
        return self._multi("join", fn, args, kwargs)

    def map(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        """Union: the same function applied to the records of every input."""
        return self._multi("map", fn, args, kwargs)

    def flatmap(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        return self._multi("flatmap", fn, args, kwargs)

    def filter(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        return self._multi("filter", fn, args, kwargs)

    def sink(self, fn: Any, *args: Any, **kwargs: Any) -> DataStream:
        return self._multi("sink", fn, args, kwargs)
