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
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sage.common.http_guard import install_http_guard
from sage.common.http_server import uvicorn_options
from sage.common.ports import DEFAULT_HOST, is_port_free
from sage.llm.exposure import require_key_when_exposed
from sage.llm.openai_errors import OpenAIError, install_error_handlers
from sage.llm.protocol.models import model_card


def create_engine_app(
    title: str,
    models: Callable[[], Iterable[str]],
    api_key: str | None = None,
    stats: Callable[[], dict[str, Any]] | None = None,
    max_model_len: int | None = None,
    kinds: Mapping[str, list[str]] | None = None,
) -> FastAPI:
    """A FastAPI app with the routes and error conventions common to all engines.

    ``api_key``: when set, every route needs ``Authorization: Bearer <key>``, except a
    bare ``/health`` liveness answer (its details need the key too).
    ``stats``: extra counters reported by ``/health``.
    ``max_model_len``: the context size, listed with each model (as vLLM does).
    ``kinds``: per model, ``["llm"]`` or ``["embedding"]`` in its card (as the gateway's
    cards say), so a gateway registering this engine for one kind lists only those.
    """
    check_engine_key(api_key)
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    install_error_handlers(app)
    expected = f"Bearer {api_key}".encode() if api_key else None

    def authorized(request: Request) -> bool:
        given = request.headers.get("authorization", "").encode()
        return expected is None or hmac.compare_digest(given, expected)

    if expected is not None:

        @app.middleware("http")
        async def _auth(request: Request, call_next: Any) -> Any:
            if request.url.path != "/health" and not authorized(request):
                error = OpenAIError(401, "invalid or missing API key", code="invalid_api_key")
                return error.response()
            return await call_next(request)

    install_http_guard(app)

    @app.get("/health")
    async def health(request: Request) -> dict[str, Any]:
        if not authorized(request):
            return {"status": "ok"}
        return {"status": "ok", "models": list(models()), **(stats() if stats else {})}

    def cards() -> list[dict[str, Any]]:
        created = int(time.time())
        return [
            model_card(m, max_model_len=max_model_len, created=created, **_kinds_of(m, kinds))
            for m in models()
        ]

    @app.get("/v1/models")
    async def list_models() -> JSONResponse:
        return JSONResponse({"object": "list", "data": cards()})

    @app.get("/v1/models/{model_id:path}")
    async def get_model(model_id: str) -> JSONResponse:
        for card in cards():
            if card["id"] == model_id:
                return JSONResponse(card)
        raise OpenAIError(
            404, f"model {model_id!r} does not exist", param="model", code="model_not_found"
        )

    return app


def _kinds_of(model: str, kinds: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    return {"kinds": kinds[model]} if kinds and model in kinds else {}


def check_engine_key(api_key: str | None) -> None:
    """An engine key, when given, is at least ``security.min_key_length`` characters."""
    from sage.common.config import get_settings
    from sage.common.errors import ConfigError

    minimum = get_settings().security.min_key_length
    if api_key is not None and len(api_key.strip()) < minimum:
        raise ConfigError(
            f"the engine API key is too short: at least {minimum} characters "
            "(security.min_key_length)"
        )


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
    from sage.llm.engines.cpu_env import use_shared_cpu_env

    use_shared_cpu_env()
    args = parser.parse_args()
    check_can_serve(parser, args)  # before the model loads: fail in a second, not a minute
    path = args.model_path or default_path
    if path is None:
        parser.error(f"no --model-path and the default model package ({package}) is missing")
    return args, str(path)


def check_can_serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with one line when the port is taken, the key too short or missing."""
    from sage.common.errors import ConfigError

    if not is_port_free(args.port, args.host):
        parser.exit(1, f"error: port {args.port} on {args.host} is already in use\n")
    try:
        check_engine_key(args.api_key)
        require_key_when_exposed(args.host, bool(args.api_key), "the engine", "--api-key")
    except ConfigError as exc:
        parser.exit(2, f"error: {exc}\n")


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
        **uvicorn_options(),
    )
