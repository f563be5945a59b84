"""Control-plane refusals as OpenAI errors: which status, code and ``Retry-After`` each gets.

The error shape itself lives in :mod:`sage.llm.openai_errors` (the engines share it).
"""

from __future__ import annotations

import math

from sage.common.errors import NoHealthyEngineError, OverloadedError, SageError
from sage.llm.control_plane.errors import DeadlineUnmeetableError, UnknownModelError
from sage.llm.openai_errors import OpenAIError


def _retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


def refusal_error(exc: SageError) -> OpenAIError:
    """429 overload (queue full, rate limit, unmeetable deadline), 404 unknown model,
    503 no healthy engine; anything else is a 500."""
    if isinstance(exc, OverloadedError):
        code = "deadline_unmeetable" if isinstance(exc, DeadlineUnmeetableError) else None
        return OpenAIError(
            429,
            str(exc),
            code=code or "rate_limit_exceeded",
            headers=_retry_after(exc.retry_after_s),
        )
    if isinstance(exc, UnknownModelError):
        return OpenAIError(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, NoHealthyEngineError):
        return OpenAIError(503, str(exc), code="engine_unavailable", headers=_retry_after(1))
    return OpenAIError(500, "internal error", code="internal_error")
