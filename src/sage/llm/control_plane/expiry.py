"""Deadline expiry: which queued requests can no longer meet their deadline.

One pure helper for both callers of a policy (the live control plane and the
simulator), so they expire the same requests: the policy names those it knows are lost
(:meth:`RequestPolicy.expire`: e.g. its speed estimates say the request cannot finish in
time any more); past its deadline a queued request is lost under any policy. A request
without a deadline never expires. The caller answers what this returns (the gateway:
429 ``deadline_exceeded``), so nothing admitted waits on past its deadline or is lost
silently.
"""

from __future__ import annotations

import heapq
import itertools

from sage.llm.control_plane.policies.base import RequestPolicy
from sage.llm.control_plane.types import Request

SLACK = 1024  # watched deadlines beyond twice the queue before finished ones are dropped


class DeadlineExpiry:
    """Deadlines of the requests handed to a policy, earliest first."""

    def __init__(self) -> None:
        # (deadline, order, request id): ids only, so a finished request's body is not
        # kept alive until its deadline passes (deadlines may be long)
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self.expired = 0  # requests this returned as due

    def track(self, request: Request) -> None:
        """Watch ``request`` (once, when it is first queued; a retry keeps its deadline)."""
        if request.deadline is not None:
            heapq.heappush(self._heap, (request.deadline, next(self._seq), request.id))

    def due(self, policy: RequestPolicy, now: float) -> list[Request]:
        """Remove from ``policy`` and return every queued request that is lost at ``now``.
        A watched request that is no longer queued (running, done) is simply forgotten."""
        out = policy.expire(now)
        heap = self._heap
        if len(heap) > 2 * len(policy) + SLACK:  # mostly finished requests: drop them
            queued = {r.id for r in policy.pending()}
            heap[:] = [entry for entry in heap if entry[2] in queued]
            heapq.heapify(heap)
        while heap and heap[0][0] <= now:
            request = policy.remove(heapq.heappop(heap)[2])
            if request is not None:
                out.append(request)
        self.expired += len(out)
        return out

    def next_at(self) -> float | None:
        """The earliest watched deadline (a time to look again), if any."""
        return self._heap[0][0] if self._heap else None

    def wake_at(self, wake: float | None, policy: RequestPolicy) -> float | None:
        """The earlier of the policy's own wake-up ``wake`` and the next watched deadline:
        when the caller's loop must look again. Deadlines count only while requests are
        queued (a running request's deadline needs no look)."""
        expiry = self.next_at() if len(policy) else None
        if expiry is not None and (wake is None or expiry < wake):
            return expiry
        return wake

    def __len__(self) -> int:
        return len(self._heap)
