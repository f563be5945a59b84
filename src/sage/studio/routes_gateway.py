"""Overview and playground API: the live SSE feed, the policy (switching it needs the
admin key, checked by the gateway) and a pass-through of the OpenAI endpoints so the
page can call the gateway from its own origin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from sage.common.admin_token import ADMIN_TOKEN_HEADER
from sage.studio.state import Studio, studio_of
from sage.studio.upstream import UpstreamError

router = APIRouter(prefix="/api")

FORWARDED = ("content-type", "x-sage-tenant", "x-sage-priority", "x-sage-deadline-ms",
             "x-sage-slo-ms")
OPENAI_PATHS = ("chat/completions", "completions", "embeddings")
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@router.get("/config")
async def config(studio: Studio = Depends(studio_of)) -> dict[str, Any]:
    c = studio.config
    return {"gateway_url": studio.gateway.url, "jobmanager_url": studio.jobmanager.url,
            "results_dir": str(c.results_dir), "slo_ms": c.slo_ms,
            "sample_interval_s": c.sample_interval_s}


@router.get("/health")
async def health(studio: Studio = Depends(studio_of)) -> Response:
    """The gateway's health (engines, policy, queue) as the playground shows it."""
    return await studio.gateway.relay("GET", "/health")


@router.get("/live")
async def live(studio: Studio = Depends(studio_of)) -> StreamingResponse:
    return StreamingResponse(studio.feed.events(), media_type="text/event-stream",
                             headers=SSE_HEADERS)


def user_token(request: Request) -> dict[str, str]:
    """The admin token the user typed in the page (sent by it as ``X-SAGE-Admin-Token``)."""
    token = request.headers.get(ADMIN_TOKEN_HEADER)
    return {ADMIN_TOKEN_HEADER: token} if token else {}


@router.get("/policy")
async def get_policy(request: Request, studio: Studio = Depends(studio_of)) -> Response:
    """The active policy and the choices (read with the studio's admin token if any)."""
    return await studio.gateway.relay("GET", "/admin/policy", headers=user_token(request))


@router.post("/policy")
async def set_policy(request: Request, studio: Studio = Depends(studio_of)) -> Response:
    """Switch the policy with the key the user gave (never the studio's own token)."""
    return await studio.gateway.relay(
        "POST", "/admin/policy", content=await request.body(), studio_token=False,
        headers={"content-type": "application/json", **user_token(request)},
    )


@router.get("/v1/models")
async def models(studio: Studio = Depends(studio_of)) -> Response:
    return await studio.gateway.relay("GET", "/v1/models")


@router.post("/v1/{path:path}")
async def openai_call(path: str, request: Request,
                      studio: Studio = Depends(studio_of)) -> Response:
    """Relay a chat/completion/embedding call and its stream, byte for byte."""
    if path not in OPENAI_PATHS:
        return JSONResponse({"detail": f"/v1/{path} is not relayed"}, status_code=404)
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
    gateway = studio.gateway
    upstream = gateway.client.build_request(
        "POST", f"/v1/{path}", content=await request.body(), headers=headers
    )
    try:
        reply = await gateway.client.send(upstream, stream=True)
    except Exception as exc:  # noqa: BLE001 - httpx errors: the gateway is down
        return UpstreamError("gateway", f"the gateway is not reachable at {gateway.url} "
                             f"({type(exc).__name__})").response()

    async def body() -> Any:
        try:
            async for chunk in reply.aiter_raw():
                yield chunk
        finally:
            await reply.aclose()

    media = reply.headers.get("content-type", "application/json")
    return StreamingResponse(body(), status_code=reply.status_code, media_type=media,
                             headers=SSE_HEADERS if "event-stream" in media else None)
