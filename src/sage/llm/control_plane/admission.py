"""Admission: whether a new request may enter the queue, or which refusal it gets."""

from __future__ import annotations

from collections.abc import Sequence

from sage.common.errors import RateLimitedError
from sage.llm.control_plane.errors import (
    DeadlineUnmeetableError,
    NoHealthyEngineError,
    OverloadedError,
)
from sage.llm.control_plane.policies import RequestPolicy
from sage.llm.control_plane.rate_limit import TenantRateLimiter
from sage.llm.control_plane.types import EngineState, Request


class Admission:
    """Checks, in order: a healthy engine serves the request (or, within the engine-down
    grace, a registered one that is down); the policy takes it (queue bound, tenant
    share, deadline); the tenant's rate limit has a token for it."""

    def __init__(
        self, rate_limiter: TenantRateLimiter | None = None, engine_down_grace_s: float = 0.0
    ) -> None:
        self.rate_limiter = rate_limiter or TenantRateLimiter()
        self.engine_down_grace_s = engine_down_grace_s  # > 0: a down engine's model queues

    def check(
        self,
        request: Request,
        policy: RequestPolicy,
        engines: Sequence[EngineState],
        now: float,
    ) -> None:
        """Return if ``request`` is admitted (taking a rate token); raise the refusal if not."""
        if not any(s.can_serve(request) for s in engines) and not (
            self.engine_down_grace_s > 0 and any(s.serves(request) for s in engines)
        ):
            raise NoHealthyEngineError(
                f"no healthy {request.engine_kind} engine can serve model {request.model!r}"
            )
        if not policy.admit(request, engines, now):  # no side effects
            if request.deadline is not None and len(policy) < policy.max_queue:
                raise DeadlineUnmeetableError("the request's deadline cannot be met", 1.0)
            # The whole queue, or the policy's share for this tenant, is full.
            raise OverloadedError(f"the request queue is full ({policy.name})", 1.0)
        wait = self.rate_limiter.check(request.tenant, now)  # takes a token: admitted only
        if wait is not None:
            raise RateLimitedError(f"rate limit exceeded for tenant {request.tenant!r}", wait)
