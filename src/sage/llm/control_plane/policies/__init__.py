"""Request policies, chosen by name: ``get_policy("hybrid")``.

The built-ins are registered here, explicitly; a plug-in calls :func:`register_policy`.
"""

from typing import Any

from sage.llm.control_plane.policies.base import PlacingPolicy, PolicyOptions, RequestPolicy
from sage.llm.control_plane.policies.fair import FairSharePolicy
from sage.llm.control_plane.policies.fifo import FifoPolicy
from sage.llm.control_plane.policies.hybrid import HybridPolicy
from sage.llm.control_plane.policies.least_loaded import LeastLoadedPolicy
from sage.llm.control_plane.policies.prefix_aware import PrefixAwarePolicy
from sage.llm.control_plane.policies.priority import PriorityPolicy
from sage.llm.control_plane.policies.registry import (
    POLICIES,
    available_policies,
    get_policy,
    register_policy,
)
from sage.llm.control_plane.policies.round_robin import RoundRobinPolicy
from sage.llm.control_plane.policies.slo_aware import SloAwarePolicy

for _policy in (
    FifoPolicy,
    RoundRobinPolicy,
    LeastLoadedPolicy,
    PriorityPolicy,
    SloAwarePolicy,
    FairSharePolicy,
    HybridPolicy,
    PrefixAwarePolicy,
):
    register_policy(_policy.name, _policy)


def __getattr__(name: str) -> Any:
    if name == "SchedulingPolicy":  # the old name, with its DeprecationWarning
        from sage.llm.control_plane.policies import base

        return base.SchedulingPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "POLICIES",
    "FairSharePolicy",
    "FifoPolicy",
    "HybridPolicy",
    "LeastLoadedPolicy",
    "PlacingPolicy",
    "PolicyOptions",
    "PrefixAwarePolicy",
    "PriorityPolicy",
    "RequestPolicy",
    "RoundRobinPolicy",
    "SloAwarePolicy",
    "available_policies",
    "get_policy",
    "register_policy",
]
