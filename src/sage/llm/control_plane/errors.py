"""Control-plane refusals, each mapping to one HTTP status in the gateway."""

from __future__ import annotations

from sage.common.errors import EngineError, NoHealthyEngineError, OverloadedError, SageError


class UnknownModelError(SageError):
    """No registered engine serves the requested model (HTTP 404)."""


class DeadlineUnmeetableError(OverloadedError):
    """Admission control: the request's deadline cannot be met (HTTP 429)."""


class DeadlineExceededError(OverloadedError):
    """A queued request's deadline can no longer be met: answered at once (HTTP 429
    ``deadline_exceeded``) instead of run late; the verdict admission gives on arrival
    (``deadline_unmeetable``), reached while it waited."""


class QueueTimeoutError(OverloadedError):
    """The request waited in the queue longer than ``max_queue_wait_s`` (HTTP 429)."""


__all__ = [
    "DeadlineExceededError",
    "DeadlineUnmeetableError",
    "EngineError",
    "NoHealthyEngineError",
    "OverloadedError",
    "QueueTimeoutError",
    "UnknownModelError",
]
