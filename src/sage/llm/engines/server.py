"""What every built-in engine server shares: the FastAPI app with ``/health``,
``/v1/models`` and OpenAI-style errors, SSE framing, command-line options and ``serve``.

Kept free of model libraries so the fake engine starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sage.common.ports import DEFAULT_HOST

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class OpenAIError(Exception):
    """Raise inside a handler to answer with OpenAI's error JSON and ``status``."""

    def __init__(
        self, message: str, status: int = 400, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.param = param
        self.code = code


def error_body(
    message: str, status: int, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {
        "error": {
            "message": message,
            "type": ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error_response(
    message: str, status: int = 400, param: str | None = None, code: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(message, status, param, code), status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "invalid request body", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    param = ".".join(loc) or None
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if first.get("type") == "json_invalid":
        return "request body is not valid JSON", None
    return (f"{param}: {message}" if param else message), param


def create_engine_app(
    title: str,
    models: Callable[[], Iterable[str]],
    api_key: str | None = None,
    stats: Callable[[], dict[str, Any]] | None = None,
) -> FastAPI:
    """A FastAPI app with the routes and error conventions common to all engines.

    ``api_key``: when set, every ``/v1`` route needs ``Authorization: Bearer <key>``.
    ``stats``: extra counters reported by ``/health``.
    """
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ready = True

    @app.exception_handler(OpenAIError)
    async def _openai_error(_: Request, exc: OpenAIError) -> JSONResponse:
        return error_response(exc.message, exc.status, exc.param, exc.code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error_response(message, 400, param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(str(exc.detail), exc.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return error_response(f"{type(exc).__name__}: {exc}", 500)

    if api_key:

        @app.middleware("http")
        async def _auth(request: Request, call_next: Any) -> Any:
            if request.url.path.startswith("/v1"):
                header = request.headers.get("authorization", "")
                if header != f"Bearer {api_key}":
                    return error_response("invalid or missing API key", 401)
            return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(models()), **(stats() if stats else {})}

    @app.get("/v1/models")
    async def list_models() -> dict[str, Any]:
        created = int(time.time())
        return {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": created, "owned_by": "sage"}
                for m in models()
            ],
        }

    return app


def sse(data: dict[str, Any] | str) -> bytes:
    """One server-sent event in OpenAI's framing."""
    payload = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {payload}\n\n".encode()


SSE_DONE = b"data: [DONE]\n\n"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def sse_stream(chunks: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """Frame ``chunks`` as SSE; an error mid-stream becomes an error event, then [DONE]."""
    try:
        async for chunk in chunks:
            yield sse(chunk)
    except OpenAIError as exc:
        yield sse(error_body(exc.message, exc.status, exc.param, exc.code))
    except Exception as exc:  # the client already has a 200: report in-band
        yield sse(error_body(f"{type(exc).__name__}: {exc}", 500))
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()  # stop generation now when the client goes away
    yield SSE_DONE


def base_parser(description: str) -> argparse.ArgumentParser:
    """Options every engine server takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--model", default="", help="the name clients use for the model")
    parser.add_argument("--model-path", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--capacity", type=int, default=1)
    parser.add_argument("--max-batch", type=int, default=64)
    parser.add_argument("--api-key", default=os.environ.get("SAGE_ENGINE_API_KEY"))
    parser.add_argument(
        "--parent-pid",
        type=int,
        default=None,
        help="exit when this process dies (managed engines never outlive their manager)",
    )
    parser.add_argument("--log-level", default="warning")
    return parser


def watch_parent(pid: int, interval_s: float = 1.0) -> None:
    """Send ourselves SIGTERM once ``pid`` is gone (we get re-parented)."""

    def loop() -> None:
        while True:
            time.sleep(interval_s)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except PermissionError:
                pass
            if os.getppid() != pid:
                os.kill(os.getpid(), signal.SIGTERM)
                return

    threading.Thread(target=loop, daemon=True, name="parent-watch").start()


def serve(app: FastAPI, args: argparse.Namespace) -> None:
    """Run ``app`` with uvicorn until SIGTERM/SIGINT."""
    import uvicorn

    if args.parent_pid:
        watch_parent(args.parent_pid)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
