"""Resource demands, node descriptions and the submit-time feasibility check.

Users declare needs with Ray's option names (``num_cpus``, ``num_gpus``, ``memory``) or
custom resource names (``{"cpu_node": 1}``); internally every demand is a flat dict in
Ray's *node resource* vocabulary (``CPU``, ``GPU``, ``memory``, custom names), so a
demand compares directly with what ``ray.nodes()`` reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sage.common.errors import ConfigError, ResourceUnavailableError

_OPTION_TO_NODE = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}
_NODE_TO_OPTION = {v: k for k, v in _OPTION_TO_NODE.items()}
_EPS = 1e-9


def normalize_resources(resources: Mapping[str, Any] | None) -> dict[str, float]:
    """``{"num_gpus": 1, "cpu_node": 1}`` -> ``{"GPU": 1.0, "cpu_node": 1.0}``.

    Accepts both spellings (``num_cpus`` or ``CPU``); zero amounts are dropped; a
    nested ``{"resources": {...}}`` (Ray's own option layout) is flattened.
    """
    out: dict[str, float] = {}
    for key, value in dict(resources or {}).items():
        if key == "resources" and isinstance(value, Mapping):
            for k, v in normalize_resources(value).items():
                out[k] = out.get(k, 0.0) + v
            continue
        try:
            amount = float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"resource {key!r} must be a number, got {value!r}") from exc
        if amount < 0:
            raise ConfigError(f"resource {key!r} must be >= 0, got {value!r}")
        if amount == 0:
            continue
        name = _OPTION_TO_NODE.get(key, key)
        out[name] = out.get(name, 0.0) + amount
    return out


def ray_actor_options(demand: Mapping[str, float]) -> dict[str, Any]:
    """Ray ``.options(...)`` for a normalized demand (``num_gpus=1, resources={...}``)."""
    options: dict[str, Any] = {}
    custom: dict[str, float] = {}
    for name, amount in demand.items():
        option = _NODE_TO_OPTION.get(name)
        if option == "memory":
            options["memory"] = int(amount)
        elif option is not None:
            options[option] = amount
        else:
            custom[name] = amount
    if custom:
        options["resources"] = custom
    if options and "num_cpus" not in options:
        # Ray reserves 1 CPU for the actor's lifetime once any resource is given; a task
        # that asked for a GPU or a label should not also pin a CPU.
        options["num_cpus"] = 0
    return options


@dataclass(frozen=True)
class NodeInfo:
    """One cluster node as the policies see it (``available`` = free right now)."""

    node_id: str
    total: dict[str, float]
    available: dict[str, float] = field(default_factory=dict)
    alive: bool = True
    address: str = ""

    def fits(self, demand: Mapping[str, float], free: Mapping[str, float] | None = None) -> bool:
        pool = self.total if free is None else free
        return all(pool.get(k, 0.0) + _EPS >= v for k, v in demand.items())

    def load(self) -> float:
        """Fraction of the node's CPUs (or, without CPUs, of all resources) in use."""
        keys = ["CPU"] if self.total.get("CPU") else [k for k in self.total if self.total[k]]
        used = [1.0 - self.available.get(k, 0.0) / self.total[k] for k in keys]
        return sum(used) / len(used) if used else 0.0


@dataclass(frozen=True)
class TaskDemand:
    """What one parallel instance (``name`` = ``stage[i]`` or ``service:x``) needs."""

    name: str
    resources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Placement:
    """Where a task goes: ``node_id`` (hard affinity) or ``None`` (Ray decides)."""

    task: str
    node_id: str | None = None
    strategy: str = "DEFAULT"  # Ray scheduling_strategy when node_id is None


def describe_resources(resources: Mapping[str, float]) -> str:
    """``CPU=1, GPU=2`` for error messages (``nothing`` when empty)."""
    return ", ".join(f"{k}={v:g}" for k, v in sorted(resources.items())) or "nothing"


def total_resources(demands: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The sum of several resource dicts, key by key."""
    total: dict[str, float] = {}
    for demand in demands:
        for k, v in demand.items():
            total[k] = total.get(k, 0.0) + v
    return total


def check_feasible(demands: Sequence[TaskDemand], nodes: Sequence[NodeInfo]) -> None:
    """Raise :class:`ResourceUnavailableError` when the cluster can *never* run the job.

    Two checks against node totals (not what is free now, which only means waiting):
    each task must fit on some alive node, and all tasks together must fit by
    first-fit-decreasing bin packing (otherwise some actor would stay pending forever).
    """
    alive = [n for n in nodes if n.alive]
    if not alive:
        raise ResourceUnavailableError("the Ray cluster has no alive node")
    offered = total_resources(n.total for n in alive)
    for d in demands:
        if not any(n.fits(d.resources) for n in alive):
            missing = {k: v for k, v in d.resources.items()
                       if not any(n.total.get(k, 0.0) + _EPS >= v for n in alive)}
            shown = {k: v for k, v in offered.items() if not k.startswith("node:")}
            raise ResourceUnavailableError(
                f"{d.name} needs {describe_resources(d.resources)} but no node of the cluster "
                f"offers {describe_resources(missing or d.resources)} (cluster offers: "
                f"{describe_resources(shown)})"
            )
    free = {n.node_id: dict(n.total) for n in alive}
    ordered = sorted(demands, key=lambda d: -sum(d.resources.values()))
    for d in ordered:
        if not d.resources:
            continue
        for n in alive:
            if n.fits(d.resources, free[n.node_id]):
                for k, v in d.resources.items():
                    free[n.node_id][k] = free[n.node_id].get(k, 0.0) - v
                break
        else:
            total = total_resources(dd.resources for dd in demands)
            raise ResourceUnavailableError(
                f"the job needs {describe_resources(total)} in total ({len(demands)} tasks) but "
                f"the cluster only offers "
                f"{describe_resources({k: offered.get(k, 0.0) for k in total})}; lower the "
                f"parallelism or the per-operator resources ({d.name} does not fit)"
            )


def check_placements(demands: Sequence[TaskDemand], placements: Sequence[Placement],
                     nodes: Sequence[NodeInfo]) -> None:
    """Raise :class:`ResourceUnavailableError` when a policy's node choices can never be
    honoured: a node that is not alive, or more pinned on one node than its totals hold
    (those actors, or the job's placement group, would wait forever)."""
    alive = {n.node_id: n for n in nodes if n.alive}
    needs = {d.name: d.resources for d in demands}
    pinned: dict[str, list[str]] = {}
    for p in placements:
        if p.node_id is None:
            continue
        if p.node_id not in alive:
            raise ResourceUnavailableError(
                f"{p.task} was placed on node {p.node_id}, which is not an alive node of "
                f"the cluster")
        pinned.setdefault(p.node_id, []).append(p.task)
    for node_id, tasks in pinned.items():
        node = alive[node_id]
        need = total_resources(needs.get(t, {}) for t in tasks)
        if not node.fits(need):
            raise ResourceUnavailableError(
                f"the scheduler put {len(tasks)} tasks needing {describe_resources(need)} "
                f"on node {node.address or node_id}, which only offers "
                f"{describe_resources({k: node.total.get(k, 0.0) for k in need})} "
                f"({', '.join(tasks)})")
