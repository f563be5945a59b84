"""What happens to requests when an engine fails: retried elsewhere, or failed cleanly.

A request gets ``max_attempts`` tries. An engine that answered 5xx is only taken out of
rotation while another engine can serve the retry; one that dropped the connection and
then failed a probe is down. When no attempt or no engine is left, the request fails
with :class:`NoHealthyEngineError` (503), or gets the engine's own error reply as is.

When the only engines of a model are down (killed, restarting), their requests wait up to
``engine_down_grace_s`` (or their own later deadline) for one to come back, then run; a
wait that runs out gets the 503 (a request whose own deadline passes first is answered
429 ``deadline_exceeded`` by the deadline expiry; one whose deadline passed while its
failed attempt ran is not retried). An engine restarts in seconds: a 503 at once would fail
requests a short wait serves.
"""

from __future__ import annotations

from sage.common.logging import get_logger
from sage.llm.control_plane.directory import EngineDirectory
from sage.llm.control_plane.engines import EngineEndpoint
from sage.llm.control_plane.errors import DeadlineExceededError, NoHealthyEngineError
from sage.llm.control_plane.health import HealthMonitor
from sage.llm.control_plane.policy_holder import PolicyHolder
from sage.llm.control_plane.transport import EngineFailure, Job
from sage.llm.control_plane.types import Request

log = get_logger("sage.llm.control_plane")


def fail(request: Request, exc: BaseException) -> None:
    """Complete ``request``'s waiter with ``exc`` (if it is still waiting)."""
    future = request.payload.future if isinstance(request.payload, Job) else None
    if future is not None and not future.done():
        future.set_exception(exc)


class Failover:
    """Requeues or fails the requests of a failed dispatch."""

    def __init__(
        self,
        directory: EngineDirectory,
        policies: PolicyHolder,
        health: HealthMonitor,
        *,
        max_attempts: int = 3,
        engine_down_grace_s: float = 0.0,
    ) -> None:
        self.directory = directory
        self.policies = policies
        self.health = health
        self.max_attempts = max_attempts
        self.engine_down_grace_s = engine_down_grace_s

    def may_wait(self, request: Request, now: float) -> bool:
        """Whether ``request`` may wait for a down engine that serves it (its wait starts
        the first time it has to: the grace, or its deadline when that is later)."""
        if self.engine_down_grace_s <= 0 or not self.directory.serves_when_up(request):
            return False
        job: Job = request.payload
        if job.wait_until is None:
            job.wait_until = max(now + self.engine_down_grace_s, request.deadline or 0.0)
        return now < job.wait_until

    def engine_failed(
        self,
        endpoint: EngineEndpoint,
        requests: list[Request],
        failure: EngineFailure,
        now: float,
    ) -> None:
        """Retry each request (elsewhere if the engine is out), or fail it when no
        attempt or no engine is left (with the engine's own error reply if it sent one)."""
        if failure.engine_alive and failure.reply is not None:
            # The engine is fine (it answers its probe): the request is bad. Its own error
            # goes back as is; no retry elsewhere, the engine stays in rotation.
            for request in requests:
                if not request.payload.future.done():
                    request.payload.future.set_result(failure.reply)
            return
        endpoint.failures += 1
        log.warning(
            "engine %s failed (%s); retrying %d request(s)", endpoint.id, failure, len(requests)
        )
        if failure.engine_down:
            self.health.mark_unhealthy(endpoint.id)
        elif failure.reply is not None and any(
            self.directory.can_serve(r, besides=endpoint.id) for r in requests
        ):
            # It answered 5xx: out of rotation until it passes a health probe, so the
            # retry goes to another engine (no restart: the process is alive).
            self.health.take_out(endpoint)
        for request in requests:
            job: Job = request.payload
            job.attempts += 1
            if job.future.done():
                continue
            if job.attempts >= self.max_attempts and failure.reply is not None:
                job.future.set_result(failure.reply)  # the engine's own error, as is
            elif job.attempts >= self.max_attempts:
                fail(
                    request,
                    NoHealthyEngineError(f"engines failed {job.attempts} times: {failure}"),
                )
            elif request.deadline is not None and request.deadline <= now:
                # Its deadline passed while it ran: a retry now could only be late.
                fail(request, DeadlineExceededError("the request's deadline passed"))
            elif not self.directory.can_serve(request) and not self.may_wait(request, now):
                fail(
                    request,
                    NoHealthyEngineError(
                        f"engine {endpoint.id} failed and no other healthy engine serves "
                        f"{request.model!r}"
                    ),
                )
            else:
                self.policies.policy.enqueue(request, now)

    def fail_unservable(self, now: float) -> float | None:
        """Fail every queued request no healthy engine can serve any more and that may
        not wait for one; when the next of those waiting runs out (None: none waits)."""
        policy = self.policies.policy
        wake: float | None = None
        for request in policy.pending():
            if self.directory.can_serve(request):
                continue
            if self.may_wait(request, now):
                until = request.payload.wait_until
                wake = until if wake is None else min(wake, until)
            else:
                policy.remove(request.id)
                fail(
                    request,
                    NoHealthyEngineError(
                        f"no healthy {request.engine_kind} engine can serve {request.model!r}"
                    ),
                )
        return wake
