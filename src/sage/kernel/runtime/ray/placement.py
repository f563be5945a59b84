"""From a scheduler policy's decisions to Ray actor options, for every actor SAGE places
(dataflow tasks, services, long-running processes such as serving engines)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from sage.kernel.scheduler import (
    Placement,
    SchedulerPolicy,
    TaskDemand,
    check_feasible,
    ray_actor_options,
)
from sage.kernel.scheduler.cluster import live_nodes


def plan_placements(demands: Sequence[TaskDemand],
                    policy: SchedulerPolicy) -> dict[str, Placement]:
    """Check the demands against the live cluster (``ResourceUnavailableError`` at once
    when it can never host them), then let ``policy`` choose a node per demand."""
    nodes = live_nodes()
    check_feasible(demands, nodes)
    return {p.task: p for p in policy.place(demands, nodes)}


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
