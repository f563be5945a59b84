"""Control-plane refusals as OpenAI errors: which status, code and ``Retry-After`` each gets.

The error shape itself lives in :mod:`sage.llm.openai_errors` (the engines share it).
"""

from __future__ import annotations

import math

from sage.common.errors import (
    NoHealthyEngineError,
    OverloadedError,
    RateLimitedError,
    SageError,
)
from sage.llm.control_plane.errors import (
    DeadlineExceededError,
    DeadlineUnmeetableError,
    QueueTimeoutError,
    UnknownModelError,
)
from sage.llm.openai_errors import OpenAIError


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def refusal_error(exc: SageError) -> OpenAIError:
    """429 for a tenant's rate limit, an unmeetable deadline (on arrival, or while queued:
    ``deadline_exceeded``, 429 like the other overload answers rather than gRPC's 504:
    the server's load, not an upstream, lost it) and server overload (queue full), each
    with its own code; 404 unknown model, 503 no healthy engine; else 500."""
    if isinstance(exc, OverloadedError):
        if isinstance(exc, RateLimitedError):
            code = "rate_limit_exceeded"
        elif isinstance(exc, DeadlineUnmeetableError):
            code = "deadline_unmeetable"
        elif isinstance(exc, DeadlineExceededError):
            code = "deadline_exceeded"  # queued, then its deadline could not be met
        elif isinstance(exc, QueueTimeoutError):
            code = "queue_timeout"
        else:
            code = "server_overloaded"
        return OpenAIError(429, str(exc), code=code, headers=_retry_after(exc.retry_after_s))
    if isinstance(exc, UnknownModelError):
        return OpenAIError(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, NoHealthyEngineError):
        return OpenAIError(503, str(exc), code="engine_unavailable", headers=_retry_after(1))
    return OpenAIError(500, "internal error", code="internal_error")
