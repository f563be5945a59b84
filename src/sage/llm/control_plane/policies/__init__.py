"""Scheduling policies, chosen by name: ``get_policy("hybrid")``.

Importing this package registers every built-in policy.
"""

from sage.llm.control_plane.policies.base import (
    SchedulingPolicy,
    available_policies,
    get_policy,
    register_policy,
)
from sage.llm.control_plane.policies.fair import FairSharePolicy
from sage.llm.control_plane.policies.fifo import FifoPolicy
from sage.llm.control_plane.policies.hybrid import HybridPolicy
from sage.llm.control_plane.policies.least_loaded import LeastLoadedPolicy
from sage.llm.control_plane.policies.priority import PriorityPolicy
from sage.llm.control_plane.policies.round_robin import RoundRobinPolicy
from sage.llm.control_plane.policies.slo_aware import SloAwarePolicy

__all__ = [
    "FairSharePolicy",
    "FifoPolicy",
    "HybridPolicy",
    "LeastLoadedPolicy",
    "PriorityPolicy",
    "RoundRobinPolicy",
    "SchedulingPolicy",
    "SloAwarePolicy",
    "available_policies",
    "get_policy",
    "register_policy",
]
