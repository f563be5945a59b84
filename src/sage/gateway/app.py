"""The OpenAI-compatible gateway: ``create_app(control_plane, settings)`` and ``serve``.

Handlers stay thin and fast: read and size-check the body, validate it with pydantic,
map the caller to a tenant, hand the raw body to the control plane and pass the
engine's reply (or stream) straight back.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ValidationError

from sage.common.config import GatewaySettings
from sage.common.errors import ConfigError, SageError
from sage.common.logging import get_logger
from sage.gateway.auth import CallerContext, KeyRing, caller_context
from sage.gateway.errors import (
    GatewayError,
    as_gateway_error,
    error_response,
    install_error_handlers,
    validation_message,
)
from sage.gateway.metrics import GatewayMetrics
from sage.gateway.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    EngineRegistration,
    PolicyChange,
)
from sage.llm.control_plane.dispatcher import ControlPlane, EngineReply
from sage.llm.control_plane.policies import available_policies
from sage.llm.control_plane.types import RequestKind

log = get_logger("sage.gateway")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: GatewaySettings, host: str | None = None) -> None:
    """Refuse to serve beyond the loopback interface without API keys."""
    bind = host or settings.host
    if not is_loopback(bind) and not settings.api_keys:
        raise ConfigError(
            f"refusing to bind the gateway to {bind}: API keys are required when exposed "
            "beyond 127.0.0.1 (set gateway.api_keys, e.g. SAGE_GATEWAY__API_KEYS="
            '\'[{"key": "...", "tenant": "team-a"}]\', or bind 127.0.0.1)'
        )


class _Gateway:
    """Per-app state shared by the handlers."""

    def __init__(self, control_plane: ControlPlane, settings: GatewaySettings) -> None:
        self.cp = control_plane
        self.settings = settings
        self.keys = KeyRing(settings.api_keys)
        self.metrics = GatewayMetrics(queue_depth=lambda: float(control_plane.queue_depth()))
        if control_plane.observer is None:
            control_plane.observer = self.metrics
        for key in settings.api_keys:
            if key.rate_limit_rps:
                control_plane.rate_limiter.set_limit(key.tenant, key.rate_limit_rps)

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                raise GatewayError(400, "invalid Content-Length header") from None
            if too_big:
                raise GatewayError(
                    413, f"request body exceeds {limit} bytes", code="request_too_large"
                )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise GatewayError(
                    413, f"request body exceeds {limit} bytes", code="request_too_large"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def caller(self, request: Request) -> CallerContext:
        return caller_context(request.headers, self.keys.authenticate(request.headers))

    async def parse(self, request: Request, schema: type[BaseModel]) -> tuple[bytes, Any]:
        body = await self.read_body(request)
        if not body:
            raise GatewayError(400, "request body is empty; JSON expected", code="invalid_json")
        try:
            return body, schema.model_validate_json(body)
        except ValidationError as exc:
            if any(e.get("type") == "json_invalid" for e in exc.errors()):
                raise GatewayError(
                    400, "request body is not valid JSON", code="invalid_json"
                ) from None
            if any(e.get("type") == "model_type" and not e.get("loc") for e in exc.errors()):
                raise GatewayError(
                    400, "request body must be a JSON object", code="invalid_request"
                ) from None
            message, param = validation_message(exc)
            raise GatewayError(400, message, code="invalid_request", param=param) from None

    async def run(
        self,
        request: Request,
        kind: RequestKind,
        schema: type[BaseModel],
    ) -> Response:
        start = time.perf_counter()
        policy = self.cp.policy.name
        tenant = "unknown"
        try:
            caller = self.caller(request)
            tenant = caller.tenant
            raw, body = await self.parse(request, schema)
            stream = bool(getattr(body, "stream", False))
            inputs: list[str] | None = None
            if kind is RequestKind.EMBEDDING:
                inputs = body.inputs()
                sage_request = self.cp.new_request(
                    kind,
                    body.model,
                    tenant=tenant,
                    priority=caller.priority,
                    deadline_s=caller.deadline_s,
                    n_inputs=len(inputs),
                    prompt_tokens=sum(len(t) for t in inputs) // 4,
                )
                payload: bytes | dict[str, Any] = {
                    **body.model_dump(exclude_none=True),
                    "model": sage_request.model,
                }
            else:
                sage_request = self.cp.new_request(
                    kind,
                    body.model,
                    tenant=tenant,
                    priority=caller.priority,
                    deadline_s=caller.deadline_s,
                    prompt_tokens=body.prompt_chars() // 4,
                    max_tokens=body.token_budget(),
                )
                payload = raw
                if body.model != sage_request.model:  # an alias or "default": name it exactly
                    payload = {**json.loads(raw), "model": sage_request.model}
            reply = await self.cp.submit(sage_request, payload, stream=stream, inputs=inputs)
        except (GatewayError, SageError) as exc:
            err = as_gateway_error(exc)
            self.metrics.observe(kind.value, policy, tenant, err.status, 0.0)
            return error_response(
                err.status,
                err.message,
                type=err.type,
                code=err.code,
                param=err.param,
                headers=err.headers,
            )
        if reply.stream is not None:
            return StreamingResponse(
                self._relay(reply, kind.value, policy, tenant, start),
                status_code=reply.status,
                media_type=reply.media_type,
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        self.metrics.observe(kind.value, policy, tenant, reply.status, time.perf_counter() - start)
        return Response(reply.body, status_code=reply.status, media_type=reply.media_type)

    async def _relay(
        self, reply: EngineReply, kind: str, policy: str, tenant: str, start: float
    ) -> AsyncIterator[bytes]:
        assert reply.stream is not None
        first = True
        try:
            async for chunk in reply.stream:
                if first:
                    first = False
                    self.metrics.ttft.labels(kind, policy, tenant).observe(
                        time.perf_counter() - start
                    )
                yield chunk
        finally:
            reply.release()
            self.metrics.observe(kind, policy, tenant, reply.status, time.perf_counter() - start)


def create_app(control_plane: ControlPlane, settings: GatewaySettings | None = None) -> FastAPI:
    """A FastAPI app serving ``control_plane``; starts and closes it with the app."""
    settings = settings or GatewaySettings()
    gw = _Gateway(control_plane, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await control_plane.start()
        try:
            yield
        finally:
            await control_plane.close()

    app = FastAPI(title="SAGE gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.gateway = gw
    install_error_handlers(app)

    # The hot paths are plain Starlette routes: no dependency solving per request.
    async def chat_completions(request: Request) -> Response:
        return await gw.run(request, RequestKind.CHAT, ChatCompletionRequest)

    async def completions(request: Request) -> Response:
        return await gw.run(request, RequestKind.COMPLETION, CompletionRequest)

    async def embeddings(request: Request) -> Response:
        return await gw.run(request, RequestKind.EMBEDDING, EmbeddingRequest)

    app.add_route("/v1/chat/completions", chat_completions, methods=["POST"])
    app.add_route("/v1/completions", completions, methods=["POST"])
    app.add_route("/v1/embeddings", embeddings, methods=["POST"])

    @app.get("/v1/models")
    async def models(request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        return JSONResponse({"object": "list", "data": control_plane.models()})

    @app.get("/health")
    async def health() -> JSONResponse:
        engines = [e.describe() for e in control_plane.engines()]
        healthy = any(e["healthy"] for e in engines)
        return JSONResponse(
            {
                "status": "ok" if healthy else "degraded",
                "policy": control_plane.policy.name,
                "queue_depth": control_plane.queue_depth(),
                "engines": engines,
            },
        )

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(gw.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/admin/engines")
    async def list_engines(request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        return JSONResponse({"engines": [e.describe() for e in control_plane.engines()]})

    @app.post("/admin/engines")
    async def register_engine(request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        _, spec = await gw.parse(request, EngineRegistration)
        models = list(spec.models) + ([spec.model] if spec.model else [])
        if not models:
            models = await _discover_models(control_plane, spec.url)
        endpoint = control_plane.add_engine(
            spec.url,
            kind=spec.kind,
            models=models,
            engine_id=spec.id,
            capacity=spec.capacity,
            max_batch=spec.max_batch,
        )
        return JSONResponse(endpoint.describe(), status_code=201)

    @app.delete("/admin/engines/{engine_id}")
    async def remove_engine(engine_id: str, request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        if not control_plane.remove_engine(engine_id):
            raise GatewayError(404, f"no engine {engine_id!r}", code="not_found")
        return JSONResponse({"removed": engine_id})

    @app.get("/admin/policy")
    async def get_policy_view(request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        return JSONResponse({**control_plane.policy.describe(), "available": available_policies()})

    @app.post("/admin/policy")
    async def set_policy(request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        _, change = await gw.parse(request, PolicyChange)
        if change.name not in available_policies():
            raise GatewayError(
                400,
                f"unknown policy {change.name!r}; available: {', '.join(available_policies())}",
                param="name",
            )
        try:
            policy = control_plane.set_policy(change.name, **change.options)
        except TypeError as exc:
            raise GatewayError(400, f"bad policy options: {exc}", param="options") from None
        return JSONResponse({**policy.describe(), "available": available_policies()})

    return app


async def _discover_models(control_plane: ControlPlane, url: str) -> list[str]:
    """Ask an engine which models it serves (``GET /v1/models``); empty if it won't say."""
    import httpx

    from sage.llm.control_plane.engines import normalize_url

    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(normalize_url(url) + "/v1/models")
        if response.status_code == 200:
            return [str(m["id"]) for m in response.json().get("data", []) if "id" in m]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass
    return []


def uvicorn_config(app: FastAPI, host: str, port: int, log_level: str = "warning") -> Any:
    """uvicorn settings for the gateway (uvloop/httptools when installed)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        loop="auto",
        http="auto",
        lifespan="on",
        timeout_graceful_shutdown=5,
    )


def serve(
    control_plane: ControlPlane,
    settings: GatewaySettings | None = None,
    *,
    host: str | None = None,
    port: int = 8888,
    log_level: str = "warning",
) -> None:
    """Run the gateway in the foreground until interrupted."""
    import uvicorn

    settings = settings or GatewaySettings()
    bind = host or settings.host
    check_exposure(settings, bind)
    app = create_app(control_plane, settings)
    asyncio.run(uvicorn.Server(uvicorn_config(app, bind, port, log_level)).serve())
