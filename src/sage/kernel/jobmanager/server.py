"""The job manager's HTTP API (FastAPI). JSON in and out; an API key when exposed.

Routes: ``GET /health``, ``POST /jobs``, ``GET /jobs``, ``GET /jobs/{id}``,
``GET /jobs/{id}/logs?offset=N``, ``GET /jobs/{id}/graph`` (its pipelines and live
counters), ``POST /jobs/{id}/stop``, ``DELETE /jobs/{id}``.
Errors are ``{"detail": "..."}`` with 400/401/404/409/422.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sage.kernel.jobmanager.manager import JobConflictError, JobManager, UnknownJobError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SubmitRequest(BaseModel):
    entrypoint: list[str] = Field(..., description="command and arguments, e.g. "
                                                  "['python', 'my_pipeline.py']")
    name: str | None = None
    working_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    resources: dict[str, float] = Field(default_factory=dict)


def require_key_for(host: str, api_key: str | None) -> None:
    """Refuse to expose the job manager beyond loopback without an API key."""
    if host not in LOOPBACK and not api_key:
        raise ValueError(f"binding the job manager to {host} needs an API key "
                         "(--api-key or SAGE_JOBMANAGER_API_KEY)")


def create_app(manager: JobManager, api_key: str | None = None) -> FastAPI:
    app = FastAPI(title="SAGE job manager", version="1")
    app.state.manager = manager

    def check_key(request: Request) -> None:
        if not api_key:
            return
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise HTTPException(401, "invalid or missing API key")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
            parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
        return JSONResponse(status_code=422, content={"detail": "; ".join(parts)})

    @app.exception_handler(UnknownJobError)
    async def _unknown(_: Request, exc: UnknownJobError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc)})

    @app.exception_handler(JobConflictError)
    async def _conflict(_: Request, exc: JobConflictError) -> JSONResponse:
        return JSONResponse(status_code=409, content={"detail": str(exc)})

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "backend": "ray" if manager.ray else "local"}

    @app.post("/jobs", status_code=201, dependencies=[Depends(check_key)])
    def submit(req: SubmitRequest) -> dict[str, Any]:
        if not req.entrypoint or not req.entrypoint[0].strip():
            raise HTTPException(400, "entrypoint is empty: give the command to run, e.g. "
                                     "`sage job submit -- python my_pipeline.py`")
        if req.working_dir and not os.path.isdir(req.working_dir):
            raise HTTPException(400, f"working_dir {req.working_dir!r} is not a directory")
        job = manager.submit(req.entrypoint, req.name, req.working_dir, req.env,
                             req.resources)
        return job.to_dict()

    @app.get("/jobs", dependencies=[Depends(check_key)])
    def list_jobs() -> list[dict[str, Any]]:
        return [j.to_dict() for j in manager.list()]

    @app.get("/jobs/{job_id}", dependencies=[Depends(check_key)])
    def get_job(job_id: str) -> dict[str, Any]:
        return manager.get(job_id).to_dict()

    @app.get("/jobs/{job_id}/logs", dependencies=[Depends(check_key)])
    def logs(job_id: str, offset: int = 0) -> dict[str, Any]:
        data, next_offset, done = manager.logs(job_id, max(0, offset))
        return {"data": data, "offset": next_offset, "done": done}

    @app.get("/jobs/{job_id}/graph", dependencies=[Depends(check_key)])
    def graph(job_id: str) -> dict[str, Any]:
        """The job's pipeline graph and per-operator counters, as its runtime reported."""
        data = manager.graph(job_id)
        if data is None:
            raise HTTPException(404, f"job {job_id!r} has reported no pipeline (yet): only "
                                     "SAGE pipelines of local jobs report one")
        return data

    @app.post("/jobs/{job_id}/stop", dependencies=[Depends(check_key)])
    def stop(job_id: str) -> dict[str, Any]:
        return manager.stop(job_id).to_dict()

    @app.delete("/jobs/{job_id}", dependencies=[Depends(check_key)])
    def delete(job_id: str) -> dict[str, Any]:
        manager.delete(job_id)
        return {"deleted": job_id}

    return app
