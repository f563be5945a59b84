"""The OpenAI-compatible gateway: ``create_app(control_plane, settings)`` and ``serve``.

Handlers stay thin and fast: read and size-check the body, validate it with pydantic,
map the caller to a tenant, hand the raw body to the control plane and pass the
engine's reply (or stream) straight back.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from sage.common.config import GatewaySettings
from sage.common.errors import ConfigError, SageError
from sage.common.http_guard import install_http_guard
from sage.common.http_server import uvicorn_options
from sage.common.logging import get_logger
from sage.gateway.auth import CallerContext, KeyRing, caller_context
from sage.gateway.drain import Drain
from sage.gateway.errors import refusal_error
from sage.gateway.metrics import GatewayMetrics
from sage.gateway.schemas import EngineRegistration, PolicyChange
from sage.gateway.security import admin_token_for, check_api_keys, check_engine_url, security_of
from sage.llm.control_plane.dispatcher import ControlPlane, EngineReply
from sage.llm.control_plane.policies import available_policies
from sage.llm.control_plane.types import RequestKind
from sage.llm.disconnect import unless_disconnected
from sage.llm.engines.external import with_served_models
from sage.llm.exposure import require_key_when_exposed
from sage.llm.limits import check_body
from sage.llm.openai_errors import OpenAIError, install_error_handlers
from sage.llm.prefix_hash import request_block_hashes
from sage.llm.protocol import ChatCompletionRequest, CompletionRequest, EmbeddingRequest
from sage.llm.request_body import parse_body
from sage.llm.sse import SSE_HEADERS

log = get_logger("sage.gateway")
M = TypeVar("M", bound=BaseModel)


def check_exposure(settings: GatewaySettings, host: str | None = None) -> None:
    """Refuse to serve beyond the loopback interface without API keys, or with short ones."""
    check_api_keys(settings.api_keys, security_of(settings).min_key_length)
    require_key_when_exposed(
        host or settings.host,
        bool(settings.api_keys),
        "the gateway",
        'set gateway.api_keys, e.g. SAGE_GATEWAY__API_KEYS=\'[{"key": "...", "tenant": "team-a"}]\'',
    )


ENGINE_HEADER = "x-sage-engine"  # on replies: the engine that served the request


def _engine_header(reply: EngineReply) -> dict[str, str]:
    """Which engine answered: placement can be checked request by request."""
    return {ENGINE_HEADER: reply.engine_id} if reply.engine_id else {}


class _EngineStream(StreamingResponse):
    """Relays an engine stream; frees its engine slot even if the client left before the
    first byte (the relay generator then never runs, so its own cleanup cannot)."""

    def __init__(self, reply: EngineReply, content: AsyncIterator[bytes], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.reply = reply

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.reply.release()


class _Gateway:
    """Per-app state shared by the handlers."""

    def __init__(self, control_plane: ControlPlane, settings: GatewaySettings) -> None:
        self.cp = control_plane
        self.settings = settings
        self.security = security_of(settings)
        check_api_keys(settings.api_keys)  # an empty key would let anyone in
        self.keys = KeyRing(settings.api_keys, admin_token_for(self.security))
        self.metrics = GatewayMetrics(
            queue_depth=lambda: float(control_plane.queue_depth()),
            queued=lambda: control_plane.policy.pending(),
            engines=lambda: control_plane.directory.states,
        )
        self.drain = Drain()
        if control_plane.observer is None:
            control_plane.observer = self.metrics
        for key in settings.api_keys:
            if key.rate_limit_rps:
                control_plane.rate_limiter.set_limit(key.tenant, key.rate_limit_rps)

    def caller(self, request: Request) -> CallerContext:
        return caller_context(request.headers, self.keys.authenticate(request.headers))

    async def parse(self, request: Request, schema: type[M]) -> tuple[bytes, M]:
        return await parse_body(request, schema, self.settings.max_body_bytes)

    async def run(self, request: Request, kind: RequestKind, schema: type[Any]) -> Response:
        start = time.perf_counter()
        policy = self.cp.policy.name
        tenant = "unknown"
        try:
            caller = self.caller(request)
            tenant = caller.tenant
            raw, body = await self.parse(request, schema)
            check_body(body, self.security.limits)  # before any tokenizing
            inputs: list[str] | None = None
            if kind is RequestKind.EMBEDDING:
                inputs = body.inputs()
                sizes = {"n_inputs": len(inputs), "prompt_tokens": sum(map(len, inputs)) // 4}
            else:
                sizes = {
                    "prompt_tokens": body.prompt_chars() // 4,
                    "max_tokens": body.token_budget(),
                    "prefix_hashes": request_block_hashes(body),
                }
            sage_request = self.cp.new_request(
                kind,
                body.model,
                tenant=tenant,
                priority=caller.priority,
                deadline_s=caller.deadline_s,
                **sizes,
            )
            stream = inputs is None and body.stream
            payload: bytes | dict[str, Any] = raw
            if inputs is not None:  # kept as a dict: the dispatcher merges batches
                payload = {**body.model_dump(exclude_none=True), "model": sage_request.model}
            elif body.model != sage_request.model:  # an alias or "default": name it exactly
                payload = {**json.loads(raw), "model": sage_request.model}
            reply = await unless_disconnected(
                request, self.cp.submit(sage_request, payload, stream=stream, inputs=inputs)
            )
        except (OpenAIError, SageError) as exc:
            error = exc if isinstance(exc, OpenAIError) else refusal_error(exc)
            self.metrics.observe(kind.value, policy, tenant, error.status, 0.0)
            self.metrics.refusals.labels(kind.value, policy, tenant, error.code or "").inc()
            return error.response()
        if reply.stream is not None:
            return _EngineStream(
                reply,
                self._relay(reply, kind.value, policy, tenant, start),
                status_code=reply.status,
                media_type=reply.media_type,
                headers={**SSE_HEADERS, **_engine_header(reply)},
            )
        self.metrics.observe(kind.value, policy, tenant, reply.status, time.perf_counter() - start)
        return Response(
            reply.body,
            status_code=reply.status,
            media_type=reply.media_type,
            headers=_engine_header(reply),
        )

    async def _relay(
        self, reply: EngineReply, kind: str, policy: str, tenant: str, start: float
    ) -> AsyncIterator[bytes]:
        assert reply.stream is not None
        first = True
        try:
            async for chunk in self.drain.relay(reply.stream):  # SIGTERM: error + [DONE]
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
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await control_plane.start()
        should_exit = getattr(app.state, "should_exit", None)  # set by the server runner
        watcher = asyncio.ensure_future(gw.drain.watch(should_exit)) if should_exit else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
            gw.drain.close()
            await control_plane.close()

    app = FastAPI(title="SAGE gateway", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.gateway = gw
    install_error_handlers(app)
    install_http_guard(app, gw.security)

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

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str, request: Request) -> JSONResponse:
        gw.keys.authenticate(request.headers)
        for card in control_plane.models():
            if card.get("id") == model_id:
                return JSONResponse({**await _engine_card(control_plane, model_id), **card})
        raise OpenAIError(
            404, f"model {model_id!r} does not exist", param="model", code="model_not_found"
        )

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        if not gw.keys.allows(request.headers):  # liveness only: no tenants, no URLs
            return JSONResponse({"status": "ok"})
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
    async def metrics(request: Request) -> Response:
        if not gw.keys.allows(request.headers):
            raise OpenAIError(401, "metrics need an API key", code="invalid_api_key")
        return Response(gw.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/admin/engines")
    async def list_engines(request: Request) -> JSONResponse:
        gw.keys.authorize_admin(request.headers)
        return JSONResponse({"engines": [e.describe() for e in control_plane.engines()]})

    @app.post("/admin/engines")
    async def register_engine(request: Request) -> JSONResponse:
        gw.keys.authorize_admin(request.headers)
        _, registration = await gw.parse(request, EngineRegistration)
        if registration.id is not None and any(
            e.id == registration.id for e in control_plane.engines()
        ):
            raise OpenAIError(
                409, f"engine id {registration.id!r} is taken", param="id", code="engine_exists"
            )
        await asyncio.to_thread(check_engine_url, registration.url, gw.security)
        # No models named: ask the engine (blocking HTTP, so off the loop).
        spec = await asyncio.to_thread(with_served_models, registration.to_spec())
        endpoint = control_plane.add_engine_spec(spec, engine_id=registration.id)
        return JSONResponse(endpoint.describe(), status_code=201)

    @app.delete("/admin/engines/{engine_id}")
    async def remove_engine(engine_id: str, request: Request) -> JSONResponse:
        gw.keys.authorize_admin(request.headers)
        if not control_plane.remove_engine(engine_id):
            raise OpenAIError(404, f"no engine {engine_id!r}", code="not_found")
        return JSONResponse({"removed": engine_id})

    @app.get("/admin/policy")
    async def get_policy_view(request: Request) -> JSONResponse:
        gw.keys.authorize_admin(request.headers)
        return JSONResponse({**control_plane.policy.describe(), "available": available_policies()})

    @app.post("/admin/policy")
    async def set_policy(request: Request) -> JSONResponse:
        gw.keys.authorize_admin(request.headers)
        _, change = await gw.parse(request, PolicyChange)
        if change.name not in available_policies():
            raise OpenAIError(
                400,
                f"unknown policy {change.name!r}; available: {', '.join(available_policies())}",
                param="name",
                code="unknown_policy",
            )
        try:
            policy = control_plane.set_policy(change.name, reset=change.reset, **change.options)
        except ConfigError as exc:  # the running policy is untouched
            raise OpenAIError(400, str(exc), param="options", code="invalid_request") from None
        return JSONResponse({**policy.describe(), "available": available_policies()})

    return app


async def _engine_card(control_plane: ControlPlane, model_id: str) -> dict[str, Any]:
    """What a healthy engine serving ``model_id`` says about it (``max_model_len``...)."""
    import httpx

    for engine in control_plane.engines():
        if model_id in engine.state.models and engine.state.healthy:
            try:
                async with httpx.AsyncClient(timeout=2.0, headers=engine.headers) as client:
                    reply = await client.get(f"{engine.url}/v1/models/{model_id}")
                if reply.status_code == 200 and isinstance(card := reply.json(), dict):
                    return card
            except (httpx.HTTPError, ValueError):
                continue
    return {}


def uvicorn_config(app: FastAPI, host: str, port: int, log_level: str = "warning") -> Any:
    """uvicorn settings for the gateway (uvloop when installed; h11 with a 431 for
    oversize headers, see :mod:`sage.common.http_server`)."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,
        loop="auto",
        lifespan="on",
        **uvicorn_options(),
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
    server = uvicorn.Server(uvicorn_config(app, bind, port, log_level))
    app.state.should_exit = lambda: server.should_exit  # SIGTERM drains live streams
    asyncio.run(server.serve())
