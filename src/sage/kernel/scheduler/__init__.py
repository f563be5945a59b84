"""Resource-aware placement of dataflow tasks and services on a cluster.

The decision logic is pure (:mod:`.policies` works on :class:`NodeInfo` lists, so it is
unit-testable with fake nodes); :mod:`.cluster` turns a live Ray cluster into such a
list, and the Ray runtime turns :class:`Placement` decisions into actor options (and,
for policies with a ``reservation``, into one placement group per job).
"""

from typing import Any

from sage.kernel.scheduler import policies as _policies
from sage.kernel.scheduler.policies import (
    PLACEMENT_POLICIES,
    RESERVATION_STRATEGIES,
    DefaultPolicy,
    LoadAwarePolicy,
    PackPolicy,
    PlacementPolicy,
    SpreadPolicy,
    available_schedulers,
    get_scheduler,
    register_scheduler,
)
from sage.kernel.scheduler.resources import (
    NodeInfo,
    Placement,
    TaskDemand,
    check_feasible,
    check_placements,
    describe_resources,
    normalize_resources,
    ray_actor_options,
    total_resources,
)

__all__ = [
    "RESERVATION_STRATEGIES",
    "DefaultPolicy",
    "LoadAwarePolicy",
    "NodeInfo",
    "PackPolicy",
    "PLACEMENT_POLICIES",
    "Placement",
    "PlacementPolicy",
    "SpreadPolicy",
    "TaskDemand",
    "available_schedulers",
    "check_feasible",
    "check_placements",
    "describe_resources",
    "get_scheduler",
    "normalize_resources",
    "ray_actor_options",
    "register_scheduler",
    "total_resources",
]


def __getattr__(name: str) -> Any:
    return getattr(_policies, name)  # SchedulerPolicy: deprecated alias of PlacementPolicy
