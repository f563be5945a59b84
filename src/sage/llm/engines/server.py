"""What every built-in engine server shares: the app with ``/health``, ``/v1/models``,
OpenAI-shaped errors and optional API-key checks, command-line options and ``serve``.

Kept free of model libraries so the fake engine starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import hmac
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sage.common.ports import DEFAULT_HOST, SERVER_KEEP_ALIVE_S
from sage.llm.openai_errors import OpenAIError, install_error_handlers


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
    install_error_handlers(app)

    if api_key:
        expected = f"Bearer {api_key}".encode()

        @app.middleware("http")
        async def _auth(request: Request, call_next: Any) -> Any:
            if request.url.path.startswith("/v1"):
                given = request.headers.get("authorization", "").encode()
                if not hmac.compare_digest(given, expected):
                    error = OpenAIError(401, "invalid or missing API key", code="invalid_api_key")
                    return error.response()
            return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": list(models()), **(stats() if stats else {})}

    @app.get("/v1/models")
    async def list_models() -> JSONResponse:
        created = int(time.time())
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": created, "owned_by": "sage"}
                    for m in models()
                ],
            }
        )

    return app


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


def parse_model_args(
    parser: argparse.ArgumentParser, default_path: Path | None, package: str
) -> tuple[argparse.Namespace, str]:
    """A model engine's options and its model (``--model-path``, else the default model
    from ``package``). Sets passive OpenMP waits first, before torch or ggml load."""
    from sage.llm.engines.launch import use_shared_cpu_env

    use_shared_cpu_env()
    args = parser.parse_args()
    path = args.model_path or default_path
    if path is None:
        parser.error(f"no --model-path and the default model package ({package}) is missing")
    return args, str(path)


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
        timeout_keep_alive=SERVER_KEEP_ALIVE_S,
        timeout_graceful_shutdown=5,
    )
