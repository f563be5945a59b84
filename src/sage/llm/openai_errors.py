"""OpenAI's error shape, shared by the engines and the gateway.

Every failure leaves as ``{"error": {"message", "type", "param", "code"}}`` with the
matching HTTP status (404/405 from routing and unexpected bugs included), so any OpenAI
client reports it properly, whichever SAGE server answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sage.common.errors import SageError
from sage.common.logging import get_logger

log = get_logger("sage.llm.openai_errors")

# Body types that are not a JSON object where one was expected.
_NOT_AN_OBJECT = {"model_type", "model_attributes_type", "dict_type"}


def error_type(status: int) -> str:
    """OpenAI's ``type`` for a status: client errors, rate limits, server errors."""
    if status == 429:
        return "rate_limit_error"
    return "server_error" if status >= 500 else "invalid_request_error"


class OpenAIError(SageError):
    """Raise anywhere in a handler to answer with OpenAI's error JSON and ``status``
    (a :class:`SageError`, so callers catching everything SAGE raises catch it too)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type or error_type(status)
        self.headers = dict(headers) if headers else None

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def validation_error(errors: Sequence[Any]) -> OpenAIError:
    """A 400 for pydantic/FastAPI validation ``errors``: bad JSON, not an object, bad fields."""
    types = {e.get("type") for e in errors}
    if "json_invalid" in types:
        return OpenAIError(400, "request body is not valid JSON", code="invalid_json")
    if any(e.get("type") in _NOT_AN_OBJECT and _where(e) == "" for e in errors):
        return OpenAIError(400, "request body must be a JSON object", code="invalid_request")
    parts = []
    for err in errors[:5]:
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{_where(err) or 'body'}: {message}")
    param = _where(errors[0]) if errors else ""
    return OpenAIError(
        400, "; ".join(parts) or "invalid request", code="invalid_request", param=param or None
    )


def _where(error: Any) -> str:
    """The offending field as ``messages.0.role`` (FastAPI's leading ``body`` dropped)."""
    loc = list(error.get("loc", ()))
    if loc and loc[0] == "body":
        loc = loc[1:]
    return ".".join(str(p) for p in loc)


def install_error_handlers(app: FastAPI) -> None:
    """Make every error ``app`` returns OpenAI-shaped; unexpected ones are logged, and
    answered 500 without their details."""

    @app.exception_handler(OpenAIError)
    async def _openai(_: Request, exc: OpenAIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc.errors()).response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        headers = getattr(exc, "headers", None)
        return OpenAIError(exc.status_code, str(exc.detail), code=code, headers=headers).response()

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in %s", app.title)
        message = f"internal error ({type(exc).__name__})"
        return OpenAIError(500, message, code="internal_error").response()
