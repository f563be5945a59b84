"""OpenAI-shaped error replies: ``{"error": {"message", "type", "code"}}`` + status."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from sage.common.errors import NoHealthyEngineError, OverloadedError
from sage.common.logging import get_logger
from sage.llm.control_plane.errors import DeadlineUnmeetableError, UnknownModelError

log = get_logger("sage.gateway")


class GatewayError(Exception):
    """An error with its HTTP status and OpenAI ``type``/``code``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers


def error_response(
    status: int,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"message": message, "type": type, "code": code, "param": param}}
    return JSONResponse(body, status_code=status, headers=headers)


def validation_message(exc: ValidationError | RequestValidationError) -> tuple[str, str | None]:
    """A short human message and the first offending parameter."""
    errors: list[Any] = list(exc.errors())
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    param = ".".join(str(p) for p in errors[0].get("loc", ()) if p != "body") if errors else None
    return "; ".join(parts) or "invalid request", param or None


def as_gateway_error(exc: BaseException) -> GatewayError:
    """Map control-plane refusals to statuses."""
    if isinstance(exc, GatewayError):
        return exc
    if isinstance(exc, DeadlineUnmeetableError):
        return GatewayError(
            429,
            str(exc),
            type="rate_limit_error",
            code="deadline_unmeetable",
            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
        )
    if isinstance(exc, OverloadedError):
        return GatewayError(
            429,
            str(exc),
            type="rate_limit_error",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))},
        )
    if isinstance(exc, UnknownModelError):
        return GatewayError(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, NoHealthyEngineError):
        return GatewayError(
            503,
            str(exc),
            type="server_error",
            code="engine_unavailable",
            headers={"Retry-After": "1"},
        )
    return GatewayError(500, "internal error", type="server_error", code="internal_error")


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the gateway in OpenAI's shape, including 404/405 and bugs."""

    @app.exception_handler(GatewayError)
    async def _gateway(_: Request, exc: GatewayError) -> JSONResponse:
        return error_response(
            exc.status,
            exc.message,
            type=exc.type,
            code=exc.code,
            param=exc.param,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(exc)
        return error_response(400, message, code="invalid_request", param=param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return error_response(
            exc.status_code,
            str(exc.detail),
            type=kind,
            code="not_found" if exc.status_code == 404 else None,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error in the gateway")
        return error_response(500, "internal error", type="server_error", code="internal_error")
