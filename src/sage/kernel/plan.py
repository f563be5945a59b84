"""Logical graph -> physical plan compiler (shared by the local and the Ray runtime).

Contract (keep stable; runtimes build on it):

* A :class:`PhysicalPlan` is a list of :class:`Stage` in topological order (feedback
  edges excluded). A stage is a *chain* of operators fused into one task per parallel
  instance (Flink-style operator chaining: same parallelism, forward partitioning, single
  consumer, same resources). Task ``i`` of a stage is ``(stage.name, i)``.
* A :class:`PlanEdge` connects the tail of one stage to the head of another, carrying the
  partition strategy, the key selector, the input *port* (comap ``map{i}``, join tag) and
  whether it is a feedback or dead-letter edge. Every source task is connected to every
  destination task; data is routed by the strategy, end-of-stream goes to all of them.
* Each destination task numbers its input channels ``0..stage.num_input_channels-1``:
  edge ``e``'s channel from source instance ``s`` is ``e.channel_offset + s``
  (:meth:`Stage.input_channels`). A task is finished when every channel has delivered
  end-of-stream (feedback channels: when its loop is quiescent, see :class:`LoopSpec`).
* Resources and error policies are recorded per operator; the local runtime only
  records resources, the Ray runtime honours them (``Stage.resources``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sage.common.errors import ConfigError
from sage.common.graphs import strongly_connected
from sage.kernel.graph import (
    ErrorPolicy,
    FunctionSpec,
    LogicalEdge,
    LogicalGraph,
    OperatorSpec,
)
from sage.kernel.kinds import DEAD_LETTER


@dataclass
class PlanConfig:
    """Knobs of the compiled job; ``LocalEnvironment(config={...})`` sets them."""

    batch_size: int = 1024
    channel_capacity: int = 8  # in batches, per task inbox
    chaining: bool = True
    error_policy: ErrorPolicy = field(default_factory=ErrorPolicy)

    @classmethod
    def from_mapping(cls, config: dict[str, Any] | None) -> PlanConfig:
        config = dict(config or {})
        out = cls()
        if "batch_size" in config:
            out.batch_size = int(config["batch_size"])
        if "channel_capacity" in config:
            out.channel_capacity = int(config["channel_capacity"])
        if "chaining" in config:
            out.chaining = bool(config["chaining"])
        if "error_policy" in config:
            out.error_policy = ErrorPolicy.parse(config["error_policy"]) or ErrorPolicy()
        if out.batch_size < 1 or out.channel_capacity < 1:
            raise ConfigError("batch_size and channel_capacity must be >= 1")
        return out


@dataclass
class PlanEdge:
    """A physical edge between two stages (see module docstring)."""

    id: int
    src_stage: str
    dst_stage: str
    port: int
    strategy: str
    key_selector: FunctionSpec | None
    src_parallelism: int
    dst_parallelism: int
    feedback: bool = False
    dead_letter: str | None = None
    channel_offset: int = 0
    in_loop: bool = False


@dataclass(frozen=True)
class InputChannel:
    """One physical input of a task: records from instance ``src_index`` over ``edge_id``."""

    number: int
    edge_id: int
    src_index: int
    port: int
    feedback: bool
    in_loop: bool


@dataclass
class Stage:
    """A chain of operators run by one task per parallel instance."""

    name: str
    operators: list[OperatorSpec]
    parallelism: int
    resources: dict[str, Any]
    in_edges: list[PlanEdge] = field(default_factory=list)
    out_edges: list[PlanEdge] = field(default_factory=list)
    dead_letter_edges: dict[str, PlanEdge] = field(default_factory=dict)
    loop: int | None = None

    @property
    def head(self) -> OperatorSpec:
        return self.operators[0]

    def operator(self, name: str) -> OperatorSpec:
        return next(op for op in self.operators if op.name == name)

    @property
    def is_source(self) -> bool:
        return self.head.kind.source

    @property
    def bounded(self) -> bool:
        return self.head.bounded

    @property
    def num_input_channels(self) -> int:
        return sum(e.src_parallelism for e in self.in_edges)

    def input_channels(self) -> list[InputChannel]:
        return [
            InputChannel(e.channel_offset + s, e.id, s, e.port, e.feedback, e.in_loop)
            for e in self.in_edges
            for s in range(e.src_parallelism)
        ]

    def task_names(self) -> list[str]:
        return [f"{self.name}[{i}]" for i in range(self.parallelism)]


@dataclass
class LoopSpec:
    """A cycle closed by ``fill_future``: stages in one strongly connected component.

    Entries are stages with feedback inputs. The loop is *quiescent* when every task of
    the loop that has inputs from outside the loop has seen them end and no record is in
    flight inside the loop; entries then treat their feedback channels as ended.
    """

    id: int
    stages: list[str]
    entries: list[str]
    external_tasks: int  # tasks of the loop with at least one input from outside it


@dataclass
class PhysicalPlan:
    job_name: str
    stages: dict[str, Stage]
    edges: list[PlanEdge]
    loops: list[LoopSpec]
    config: PlanConfig

    def stage_of(self, operator: str) -> Stage:
        for stage in self.stages.values():
            if any(op.name == operator for op in stage.operators):
                return stage
        raise KeyError(operator)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary (stages, chained operators, resources, edges)."""
        return {
            "job": self.job_name,
            "stages": [
                {
                    "name": s.name,
                    "operators": [op.name for op in s.operators],
                    "parallelism": s.parallelism,
                    "resources": s.resources,
                    "error_policies": {
                        op.name: (op.error_policy or self.config.error_policy).mode
                        for op in s.operators
                    },
                    "loop": s.loop,
                }
                for s in self.stages.values()
            ],
            "edges": [
                {
                    "src": e.src_stage, "dst": e.dst_stage, "port": e.port,
                    "strategy": e.strategy, "feedback": e.feedback,
                    "dead_letter": e.dead_letter,
                }
                for e in self.edges
            ],
        }


def _resolve_futures(graph: LogicalGraph) -> dict[str, list[LogicalEdge]]:
    """Inputs per node with ``from_future`` placeholders replaced by feedback edges."""
    inputs: dict[str, list[LogicalEdge]] = {}
    for name, node in graph.nodes.items():
        if node.spec.kind.placeholder:
            continue
        edges = []
        for edge in node.inputs:
            src_node = graph.nodes[edge.src]
            if src_node.spec.kind.placeholder:
                filler = graph.futures.get(edge.src)
                if filler is None:
                    raise ConfigError(f"future {edge.src!r} was never filled (fill_future)")
                edge = LogicalEdge(filler, edge.port, edge.partition, True, None)
            edges.append(edge)
        inputs[name] = edges
    return inputs


def _descendants(inputs: dict[str, list[LogicalEdge]]) -> dict[str, set[str]]:
    """For each dead-letter node, every node reachable from it."""
    succ: dict[str, list[str]] = {n: [] for n in inputs}
    for n, edges in inputs.items():
        for e in edges:
            succ[e.src].append(n)
    out: dict[str, set[str]] = {}
    for start in inputs:
        if not start.startswith("dead_letter:"):
            continue
        seen: set[str] = set()
        stack = list(succ[start])
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(succ[n])
        out[start] = seen
    return out


def _topological(names: list[str], inputs: dict[str, list[LogicalEdge]]) -> list[str]:
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(n: str) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            raise ConfigError(f"cycle through {n!r}; close loops with from_future/fill_future")
        state[n] = 1
        for e in inputs[n]:
            if not e.feedback:
                visit(e.src)
        state[n] = 2
        order.append(n)

    for n in names:
        visit(n)
    return order


def compile_plan(graph: LogicalGraph, job_name: str,
                 config: PlanConfig | None = None) -> PhysicalPlan:
    """Validate the logical graph, fuse chains and number every physical channel."""
    config = config or PlanConfig()
    inputs = _resolve_futures(graph)
    specs = {n: graph.nodes[n].spec for n in inputs}

    # Dead-letter side outputs become ordinary edges into the dead-letter node. The
    # consumers of a dead-letter stream cannot dead-letter into it (that would be a
    # cycle): under a job-wide dead_letter default they fail instead.
    downstream = _descendants(inputs)
    for name, spec in list(specs.items()):
        policy = spec.error_policy or config.error_policy
        if policy.mode == "dead_letter":
            target = f"dead_letter:{policy.dead_letter}"
            if name == target or name in downstream.get(target, set()):
                if spec.error_policy is not None:
                    raise ConfigError(f"{name}: cannot dead-letter into the stream it consumes")
                specs[name] = replace(spec, error_policy=ErrorPolicy("fail"))
                continue
            if target not in specs:
                raise ConfigError(
                    f"{name}: no dead-letter stream {policy.dead_letter!r}; create it with "
                    f"env.dead_letters({policy.dead_letter!r}).sink(...)"
                )
            inputs[target].append(LogicalEdge(name, 0, dead_letter=policy.dead_letter))

    _validate(specs, inputs)
    order = _topological(list(inputs), inputs)

    consumers: dict[str, int] = {n: 0 for n in inputs}
    for edges in inputs.values():
        for e in edges:
            if e.dead_letter is None:
                consumers[e.src] += 1

    # Chaining: append a node to its producer's stage when nothing observable changes.
    stage_of: dict[str, str] = {}
    chains: dict[str, list[str]] = {}
    for n in order:
        spec = specs[n]
        data_in = [e for e in inputs[n] if e.dead_letter is None]
        chained = False
        if config.chaining and len(inputs[n]) == 1 and len(data_in) == 1:
            e = data_in[0]
            src = specs[e.src]
            if (
                not e.feedback
                and e.partition.strategy == "forward"
                and spec.kind.chains
                and not src.kind.ends_chain
                and src.parallelism == spec.parallelism
                and consumers[e.src] == 1
                and chains[stage_of[e.src]][-1] == e.src
                and src.resources == spec.resources
            ):
                stage_of[n] = stage_of[e.src]
                chains[stage_of[n]].append(n)
                chained = True
        if not chained:
            stage_of[n] = n
            chains[n] = [n]

    stages: dict[str, Stage] = {}
    for head, members in chains.items():
        ops = [specs[m] for m in members]
        resources: dict[str, Any] = dict(ops[0].resources)
        name = "+".join(members)
        stages[head] = Stage(name, ops, ops[0].parallelism, resources)

    edges: list[PlanEdge] = []
    for n in order:
        dst = stages[stage_of[n]]
        if stage_of[n] != n:
            continue  # chained inside its stage
        for e in inputs[n]:
            src_stage = stages[stage_of[e.src]]
            if e.dead_letter is not None and e.dead_letter in src_stage.dead_letter_edges:
                continue  # one dead-letter channel per stage, shared by its chained ops
            strategy = e.partition.strategy
            if strategy == "forward" and src_stage.parallelism != dst.parallelism:
                strategy = "round_robin"
            if e.dead_letter is not None:
                strategy = "round_robin"
            edge = PlanEdge(
                id=len(edges), src_stage=src_stage.name, dst_stage=dst.name, port=e.port,
                strategy=strategy, key_selector=e.partition.key,
                src_parallelism=src_stage.parallelism, dst_parallelism=dst.parallelism,
                feedback=e.feedback, dead_letter=e.dead_letter,
            )
            edge.channel_offset = dst.num_input_channels
            dst.in_edges.append(edge)
            if e.dead_letter is not None:
                src_stage.dead_letter_edges[e.dead_letter] = edge
            else:
                src_stage.out_edges.append(edge)
            edges.append(edge)

    ordered = {s.name: s for s in (stages[h] for h in order if h in stages)}

    # Loops: strongly connected components over all edges (feedback included).
    succ: dict[str, list[str]] = {name: [] for name in ordered}
    for e in edges:
        succ[e.src_stage].append(e.dst_stage)
    loops: list[LoopSpec] = []
    for comp in strongly_connected(list(ordered), succ.__getitem__):
        members = set(comp)
        if len(comp) == 1 and comp[0] not in succ[comp[0]]:
            continue
        loop_id = len(loops)
        for e in edges:
            if e.src_stage in members and e.dst_stage in members:
                e.in_loop = True
        external = 0
        for name in comp:
            ordered[name].loop = loop_id
            if any(not e.in_loop for e in ordered[name].in_edges):
                external += ordered[name].parallelism
        entries = [n for n in ordered if n in members
                   and any(e.feedback for e in ordered[n].in_edges)]
        loops.append(LoopSpec(loop_id, [n for n in ordered if n in members], entries, external))
    return PhysicalPlan(job_name, ordered, edges, loops, config)


def _validate(specs: dict[str, OperatorSpec], inputs: dict[str, list[LogicalEdge]]) -> None:
    for name, spec in specs.items():
        data_in = [e for e in inputs[name] if e.dead_letter is None]
        if spec.kind.source:
            if data_in:
                raise ConfigError(f"{name}: a source has no inputs")
            continue
        if spec.kind is DEAD_LETTER:
            continue
        if not data_in:
            raise ConfigError(f"{name}: operator has no input")
        if spec.kind.keyed_inputs:
            ports = sorted(e.port for e in data_in)
            if ports != [0, 1]:
                raise ConfigError(f"{name}: join needs exactly two connected inputs")
            if any(e.partition.strategy != "hash" for e in data_in):
                raise ConfigError(f"{name}: join inputs must be keyed (keyby on both inputs)")
        if spec.kind.per_port:
            fn = spec.function.factory if spec.function else None
            for e in data_in:
                method = f"map{e.port}"
                if isinstance(fn, type) and not callable(getattr(fn, method, None)):
                    raise ConfigError(f"{name}: CoMapFunction lacks {method} for input {e.port}")
