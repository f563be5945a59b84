"""Scheduling policies, chosen by name: ``get_policy("hybrid")``.

Importing this package registers every built-in policy.
"""

from sage.llm.control_plane.policies.base import (
    SchedulingPolicy,
    available_policies,
    get_policy,
    register_policy,
)
from sage.llm.control_plane.policies.fifo import FifoPolicy

__all__ = [
    "FifoPolicy",
    "SchedulingPolicy",
    "available_policies",
    "get_policy",
    "register_policy",
]
