"""Strict priority: the most urgent request first, arrival order among equals."""

from __future__ import annotations

from typing import Any

from sage.llm.control_plane.policies.base import register_policy
from sage.llm.control_plane.policies.ordered import OrderedQueuePolicy
from sage.llm.control_plane.types import Request


@register_policy("priority")
class PriorityPolicy(OrderedQueuePolicy):
    """Higher ``Request.priority`` is served first (ties: earlier arrival)."""

    def key(self, request: Request) -> Any:
        return (-request.priority, request.arrival)
