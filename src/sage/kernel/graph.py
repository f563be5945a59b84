"""The logical dataflow graph the ``DataStream`` API builds (before compilation).

Nodes are operators (function factory + args, parallelism, resources, error policy);
edges carry the partitioning requested by ``keyby`` and the input *port* they feed
(``comap``'s ``map{i}``, ``join``'s tag). ``from_future`` placeholders are resolved into
feedback edges by :mod:`sage.kernel.plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sage.common.errors import ConfigError
from sage.kernel.kinds import OPERATOR_KINDS, OperatorKind

Strategy = Literal["forward", "hash", "broadcast", "round_robin"]
STRATEGIES: tuple[str, ...] = ("forward", "hash", "broadcast", "round_robin")
ErrorMode = Literal["fail", "skip", "dead_letter"]


@dataclass(frozen=True)
class FunctionSpec:
    """How to build one function instance per task: a class + args, an instance or a callable."""

    factory: Any
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Partition:
    """How records are spread over the instances of the consuming operator."""

    strategy: Strategy = "forward"
    key: FunctionSpec | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown partition strategy {self.strategy!r}; use {STRATEGIES}")
        if self.strategy == "hash" and self.key is None:
            raise ConfigError("hash partitioning needs a key selector")


@dataclass(frozen=True)
class ErrorPolicy:
    """What an operator does when its function raises on a record.

    ``fail``: the job fails with the operator name and traceback. ``skip``: the record is
    dropped and counted. ``dead_letter``: a :class:`DeadLetter` goes to the stream
    ``env.dead_letters(name)``.
    """

    mode: ErrorMode = "fail"
    dead_letter: str | None = None

    @classmethod
    def parse(cls, value: ErrorPolicy | str | None) -> ErrorPolicy | None:
        """Accept ``"fail"``, ``"skip"``, ``"dead_letter:NAME"`` or an ``ErrorPolicy``."""
        if value is None or isinstance(value, ErrorPolicy):
            return value
        if not isinstance(value, str):
            raise ConfigError(f"error_policy must be a string or ErrorPolicy, not {value!r}")
        mode, _, name = value.partition(":")
        if mode == "dead_letter":
            return cls("dead_letter", name or "dead_letter")
        if mode in ("fail", "skip") and not name:
            return cls(mode)  # type: ignore[arg-type]
        raise ConfigError(f"unknown error policy {value!r}; use fail, skip or dead_letter:NAME")

    @classmethod
    def to_dead_letter(cls, name: str = "dead_letter") -> ErrorPolicy:
        return cls("dead_letter", name)


@dataclass(frozen=True)
class DeadLetter:
    """A record an operator could not process, with the error (sent to a dead-letter sink)."""

    operator: str
    record: Any
    error: str
    traceback: str


@dataclass
class OperatorSpec:
    """One logical operator. ``kind`` is an :class:`~sage.kernel.kinds.OperatorKind` (a
    registered name is accepted). ``error_policy`` None means the job default."""

    name: str
    kind: OperatorKind
    function: FunctionSpec | None
    parallelism: int = 1
    resources: dict[str, Any] = field(default_factory=dict)
    error_policy: ErrorPolicy | None = None
    bounded: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.kind, str):
            self.kind = OPERATOR_KINDS.get(self.kind)
        if not isinstance(self.parallelism, int) or self.parallelism < 1:
            raise ConfigError(f"{self.name}: parallelism must be an int >= 1")


@dataclass
class LogicalEdge:
    """``src`` feeds input ``port`` of the node that owns this edge."""

    src: str
    port: int = 0
    partition: Partition = field(default_factory=Partition)
    feedback: bool = False
    dead_letter: str | None = None


@dataclass
class LogicalNode:
    spec: OperatorSpec
    inputs: list[LogicalEdge] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name


class LogicalGraph:
    """Insertion-ordered operators plus ``from_future`` fillers."""

    def __init__(self) -> None:
        self.nodes: dict[str, LogicalNode] = {}
        self.futures: dict[str, str | None] = {}  # future node name -> filler node name
        self._name_counts: dict[str, int] = {}

    def unique_name(self, base: str) -> str:
        count = self._name_counts.get(base, 0)
        self._name_counts[base] = count + 1
        name = base if count == 0 else f"{base}_{count}"
        while name in self.nodes:
            count += 1
            self._name_counts[base] = count + 1
            name = f"{base}_{count}"
        return name

    def add(self, spec: OperatorSpec, inputs: list[LogicalEdge] | None = None) -> LogicalNode:
        if spec.name in self.nodes:
            raise ConfigError(f"duplicate operator name {spec.name!r}")
        for edge in inputs or []:
            if edge.src not in self.nodes:
                raise ConfigError(f"{spec.name}: unknown input {edge.src!r}")
        node = LogicalNode(spec, list(inputs or []))
        self.nodes[spec.name] = node
        return node
