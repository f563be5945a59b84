"""SAGE's exception hierarchy: one root so callers can catch everything SAGE raises."""

from __future__ import annotations


class SageError(Exception):
    """Root of every error SAGE raises on purpose."""


class ConfigError(SageError, ValueError):
    """Settings or a pipeline definition are invalid (also a ``ValueError``, so code that
    caught the ``ValueError`` raised before keeps working)."""


class JobFailedError(SageError):
    """A dataflow job failed; carries the operator name and its original traceback."""

    def __init__(self, operator: str, message: str, traceback_text: str = "") -> None:
        self.operator = operator
        self.traceback_text = traceback_text
        detail = f"operator {operator!r} failed: {message}"
        if traceback_text:
            detail += f"\n--- original traceback ---\n{traceback_text}"
        super().__init__(detail)


class ResourceUnavailableError(SageError):
    """A job or engine asks for resources (GPUs, custom) that the cluster cannot offer."""


class EngineError(SageError):
    """An engine failed, is unreachable or answered with an error."""


class NoHealthyEngineError(EngineError):
    """No engine can serve the request right now (maps to HTTP 503)."""


class OverloadedError(SageError):
    """A bounded queue or rate limit refused a request (maps to HTTP 429)."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class RateLimitedError(OverloadedError):
    """A tenant went over its own rate limit (429 ``rate_limit_exceeded``); other
    :class:`OverloadedError` errors are the server's overload (429 ``server_overloaded``)."""
