"""From a scheduler policy's decisions to Ray actor options, for every actor SAGE places
(dataflow tasks, services, long-running processes such as serving engines).

A policy without a ``reservation`` gets each actor placed on its own (hard node affinity
to the chosen node, or Ray's scheduler). A policy with one (``spread``, ``pack``, or a
user policy that opts in) gets the whole job reserved first, as ONE Ray placement group
with a bundle per actor: either every bundle is reserved within the placement timeout
or the job fails with nothing started, so a job never half-starts and then waits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ray.util.placement_group import (
    PlacementGroup,
    placement_group,
    remove_placement_group,
)
from ray.util.scheduling_strategies import (
    NodeAffinitySchedulingStrategy,
    PlacementGroupSchedulingStrategy,
)

from sage.common.errors import ResourceUnavailableError
from sage.kernel.scheduler import (
    NodeInfo,
    Placement,
    PlacementPolicy,
    TaskDemand,
    check_feasible,
    check_placements,
    describe_resources,
    ray_actor_options,
    total_resources,
)
from sage.kernel.scheduler.cluster import live_nodes

# CPU reserved by an actor that declares nothing, when it is placed in a placement group:
# Ray refuses empty bundles, and inside a group an actor without resources would need a
# whole CPU to be created (outside one it needs 1 CPU to be placed and holds none).
UNDECLARED_ACTOR_CPU = 0.01
# Share of the node's ``node:<ip>`` resource (1.0 per node) that pins a bundle to it.
NODE_PIN = 0.001


def plan_placements(demands: Sequence[TaskDemand], policy: PlacementPolicy,
                    nodes: Sequence[NodeInfo] | None = None) -> dict[str, Placement]:
    """Check the demands against the cluster (live unless ``nodes`` is given):
    ``ResourceUnavailableError`` at once when it can never host them, then let
    ``policy`` choose a node per demand, and refuse choices that could never be honoured
    (a dead node, more pinned on a node than it has)."""
    nodes = live_nodes() if nodes is None else nodes
    check_feasible(demands, nodes)
    placements = policy.place(demands, nodes)
    check_placements(demands, placements, nodes)
    return {p.task: p for p in placements}


def placed_actor_options(demand: TaskDemand, placement: Placement | None) -> dict[str, Any]:
    """Ray ``.options(...)`` for one actor: its resources plus the policy's choice (hard
    node affinity, or a Ray scheduling strategy when the policy named no node)."""
    options = ray_actor_options(demand.resources)
    if placement is not None and placement.node_id is not None:
        options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(placement.node_id,
                                                                        soft=False)
    elif placement is not None and placement.strategy != "DEFAULT":
        options["scheduling_strategy"] = placement.strategy
    return options


def bundle_demand(demand: TaskDemand) -> TaskDemand:
    """What an actor reserves in a placement group: what it declared or, when it
    declared nothing, :data:`UNDECLARED_ACTOR_CPU` (see there why)."""
    if demand.resources:
        return demand
    return TaskDemand(demand.name, {"CPU": UNDECLARED_ACTOR_CPU})


def placement_bundles(demands: Sequence[TaskDemand], placements: dict[str, Placement],
                      nodes: Sequence[NodeInfo]) -> list[dict[str, float]]:
    """One bundle per demand, in order: its resources, plus :data:`NODE_PIN` of the
    ``node:<ip>`` resource of the node the policy chose (none when it chose no node).

    Pinning through ``node:<ip>`` rather than a ``bundle_label_selector`` on
    ``ray.io/node-id``: the resource is enforced by the same resource scheduler that
    makes the reservation on every Ray 2.x SAGE supports, while label selectors exist
    only in recent Ray and were silently ignored for bundles in the first releases that
    accepted them. The cost: several Ray nodes behind one IP cannot be told apart, so a
    pin there means "one of the nodes at that IP".
    """
    address = {n.node_id: n.address for n in nodes}
    bundles = []
    for demand in demands:
        bundle = dict(demand.resources)
        node_ip = address.get(_chosen_node(placements, demand.name) or "", "")
        if node_ip:
            bundle[f"node:{node_ip}"] = NODE_PIN
        bundles.append(bundle)
    return bundles


def free_resources() -> str:
    """What the alive nodes have free right now, for "the cluster is busy" errors."""
    return describe_resources(total_resources(n.available for n in live_nodes()))


def reservation_name(job_id: str) -> str:
    return f"sage/{job_id}/reservation"


@dataclass
class JobPlacement:
    """Where each actor of a job goes: the policy's choices and, for a policy with a
    ``reservation``, the one placement group that holds every actor's bundle."""

    demands: dict[str, TaskDemand]  # in bundle order
    placements: dict[str, Placement]
    group: PlacementGroup | None = None

    def __post_init__(self) -> None:
        self._bundle_index = {task: i for i, task in enumerate(self.demands)}

    def actor_options(self, task: str) -> dict[str, Any]:
        """Ray ``.options(...)`` placing the actor of ``task`` (resources + strategy)."""
        demand = self.demands[task]
        if self.group is None:
            return placed_actor_options(demand, self.placements.get(task))
        return {**ray_actor_options(demand.resources),
                "scheduling_strategy": PlacementGroupSchedulingStrategy(
                    self.group, placement_group_bundle_index=self._bundle_index[task],
                    placement_group_capture_child_tasks=False)}

    def release(self) -> None:
        """Give the reserved resources back to the cluster (idempotent)."""
        if self.group is not None:
            group, self.group = self.group, None
            remove_placement_group(group)


def place_job(job_id: str, demands: Sequence[TaskDemand], policy: PlacementPolicy,
              timeout_s: float) -> JobPlacement:
    """Plan every actor of a job and, when ``policy.reservation`` asks for it, reserve
    them all as one placement group before any starts. Raises
    :class:`ResourceUnavailableError` at once when the cluster can never host the job,
    and after ``timeout_s`` when the group could not be reserved (resources held by
    other work); the group is removed then, and nothing of the job was started."""
    if policy.reservation is None:
        return JobPlacement({d.name: d for d in demands}, plan_placements(demands, policy))
    reserved = [bundle_demand(d) for d in demands]
    nodes = live_nodes()
    placements = plan_placements(reserved, policy, nodes)
    group = placement_group(placement_bundles(reserved, placements, nodes),
                            strategy=policy.reservation, name=reservation_name(job_id))
    ready = False
    try:
        ready = group.wait(timeout_s)
    finally:  # also on an interrupt: never leave a pending group behind
        if not ready:
            remove_placement_group(group)
    if not ready:
        raise ResourceUnavailableError(
            f"job {job_id!r}: could not reserve its {len(reserved)} actors as one "
            f"{policy.reservation} placement group within {timeout_s:g}s; it needs "
            f"{_needs_by_node(reserved, placements, nodes)}, but the resources are held "
            f"by other work (free now: {free_resources()}); nothing was started")
    return JobPlacement({d.name: d for d in reserved}, placements, group)


def _needs_by_node(demands: Sequence[TaskDemand], placements: dict[str, Placement],
                   nodes: Sequence[NodeInfo]) -> str:
    """``cpu_node=2 on 10.0.0.5; GPU=1 on any node`` for the reservation error."""
    address = {n.node_id: n.address or n.node_id for n in nodes}
    where: dict[str, list[dict[str, float]]] = {}
    for demand in demands:
        node_id = _chosen_node(placements, demand.name)
        label = f"on {address.get(node_id, node_id)}" if node_id else "on any node"
        where.setdefault(label, []).append(demand.resources)
    return "; ".join(f"{describe_resources(total_resources(needs))} {label}"
                     for label, needs in where.items())


def _chosen_node(placements: dict[str, Placement], task: str) -> str | None:
    placement = placements.get(task)
    return placement.node_id if placement is not None else None
