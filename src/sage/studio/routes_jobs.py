"""Jobs API: the job manager's list/status/logs/stop/delete, and one SSE stream per
open job page carrying its status, pipeline graph with counters, and new log text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from sage.studio.routes_gateway import user_token
from sage.studio.state import Studio, studio_of
from sage.studio.upstream import Upstream, UpstreamError

router = APIRouter(prefix="/api/jobs")

LOG_TAIL_BYTES = 64 * 1024  # a page opens on the log's last 64 KiB, then follows


async def _call(studio: Studio, method: str, path: str, **kwargs: Any) -> Response:
    return await studio.jobmanager.relay(method, path, **kwargs)


@router.get("")
async def list_jobs(studio: Studio = Depends(studio_of)) -> Response:
    return await _call(studio, "GET", "/jobs")


@router.get("/{job_id}")
async def get_job(job_id: str, studio: Studio = Depends(studio_of)) -> Response:
    return await _call(studio, "GET", f"/jobs/{job_id}")


@router.get("/{job_id}/logs")
async def logs(job_id: str, offset: int = 0, studio: Studio = Depends(studio_of)) -> Response:
    return await _call(studio, "GET", f"/jobs/{job_id}/logs", params={"offset": offset})


@router.get("/{job_id}/graph")
async def graph(job_id: str, studio: Studio = Depends(studio_of)) -> Response:
    return await _call(studio, "GET", f"/jobs/{job_id}/graph")


@router.post("/{job_id}/stop")
async def stop(job_id: str, request: Request, studio: Studio = Depends(studio_of)) -> Response:
    """Stop with the user's admin token (the studio's own only reads)."""
    return await _call(studio, "POST", f"/jobs/{job_id}/stop", headers=user_token(request),
                       studio_token=False)


@router.delete("/{job_id}")
async def delete(job_id: str, request: Request, studio: Studio = Depends(studio_of)) -> Response:
    return await _call(studio, "DELETE", f"/jobs/{job_id}", headers=user_token(request),
                       studio_token=False)


@router.get("/{job_id}/stream")
async def stream(job_id: str, studio: Studio = Depends(studio_of)) -> StreamingResponse:
    return StreamingResponse(
        _job_events(studio.jobmanager, job_id, studio.config.sample_interval_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _optional(jm: Upstream, path: str, **kwargs: Any) -> Any:
    try:
        return await jm.json("GET", path, **kwargs)
    except UpstreamError as exc:
        if exc.status == 503:
            raise
        return None


async def _job_events(jm: Upstream, job_id: str, interval: float) -> AsyncIterator[bytes]:
    """Status + graph + log delta every ``interval`` until the job ended and was read."""
    offset: int | None = None
    while True:
        event: dict[str, Any] = {}
        try:
            job = await jm.json("GET", f"/jobs/{job_id}")
            if offset is None:  # start on the tail of a long log
                probe = await jm.json("GET", f"/jobs/{job_id}/logs", params={"offset": 0})
                offset = max(0, probe["offset"] - LOG_TAIL_BYTES)
            logs, graph = await asyncio.gather(
                _optional(jm, f"/jobs/{job_id}/logs", params={"offset": offset}),
                _optional(jm, f"/jobs/{job_id}/graph"),
            )
            event = {"job": job, "graph": graph, "log": ""}
            if logs is not None:
                event["log"] = logs["data"]
                offset = logs["offset"]
        except UpstreamError as exc:
            event = {"error": str(exc), "down": exc.status == 503, "status": exc.status}
        yield f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
        if event.get("status") == 404:
            return
        await asyncio.sleep(interval)
