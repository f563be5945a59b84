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
    DeadlineUnmeetableError,
    QueueTimeoutError,
    UnknownModelError,
)
from sage.llm.openai_errors import OpenAIError


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def refusal_error(exc: SageError) -> OpenAIError:
    """429 for a tenant's rate limit, an unmeetable deadline and server overload (queue
    full), each with its own code; 404 unknown model, 503 no healthy engine; else 500."""
    if isinstance(exc, OverloadedError):
        if isinstance(exc, RateLimitedError):
            code = "rate_limit_exceeded"
        elif isinstance(exc, DeadlineUnmeetableError):
            code = "deadline_unmeetable"
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
