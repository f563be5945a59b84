"""Strict priority: the most urgent request first, arrival order among equals."""

from __future__ import annotations

from typing import Any

from sage.llm.control_plane.policies.ordered import OrderedQueuePolicy
from sage.llm.control_plane.types import Request


class PriorityPolicy(OrderedQueuePolicy):
    """Higher ``Request.priority`` is served first (ties: earlier arrival)."""

    name = "priority"

    def key(self, request: Request) -> Any:
        return (-request.priority, request.arrival)
