"""The job manager's HTTP API (FastAPI). JSON in and out; an API key when exposed,
else the admin token (a web page must not run commands); Host, Origin and Content-Type
checked by :mod:`sage.common.http_guard`.

Routes: ``GET /health``, ``POST /jobs``, ``GET /jobs``, ``GET /jobs/{id}``,
``GET /jobs/{id}/logs?offset=N``, ``GET /jobs/{id}/graph`` (its pipelines and live
counters), ``POST /jobs/{id}/stop``, ``DELETE /jobs/{id}``.
Errors are ``{"detail": "..."}`` with 400/401/403/404/409/415/422.
"""

from __future__ import annotations

import hmac
import os
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sage.common.admin_token import ADMIN_TOKEN_HEADER, ensure_admin_token, token_matches
from sage.common.errors import ConfigError
from sage.common.http_guard import detail_error, install_http_guard
from sage.common.security import SecuritySettings
from sage.kernel.jobmanager.manager import JobConflictError, JobManager, UnknownJobError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class SubmitRequest(BaseModel):
    entrypoint: list[str] = Field(..., description="command and arguments, e.g. "
                                                  "['python', 'my_pipeline.py']")
    name: str | None = None
    working_dir: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    resources: dict[str, float] = Field(default_factory=dict)
    limits: dict[str, int] = Field(default_factory=dict, description="RLIMITs, e.g. "
                                   "{'memory_mb': 512, 'cpu_s': 600}")


def require_key_for(host: str, api_key: str | None, min_length: int = 8) -> None:
    """Refuse to expose the job manager beyond loopback without an API key, and keys
    shorter than ``min_length``."""
    if api_key is not None and api_key != "" and len(api_key.strip()) < min_length:
        raise ConfigError(f"the job manager API key is too short: at least {min_length} "
                          "characters (security.min_key_length)")
    if host not in LOOPBACK and not api_key:
        raise ConfigError(f"binding the job manager to {host} needs an API key "
                          "(--api-key or SAGE_JOBMANAGER_API_KEY)")


def create_app(manager: JobManager, api_key: str | None = None,
               security: SecuritySettings | None = None) -> FastAPI:
    """The API over ``manager``; without ``api_key`` the admin token is required (unless
    ``security.admin_token`` is off)."""
    if security is None:
        from sage.common.config import get_settings

        security = get_settings().security
    app = FastAPI(title="SAGE job manager", version="1")
    app.state.manager = manager
    install_http_guard(app, security, error=detail_error)
    admin_token = (ensure_admin_token(security.admin_token_file)
                   if not api_key and security.admin_token else None)

    def check_key(request: Request) -> None:
        given = request.headers.get("x-api-key") or ""
        auth = request.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if api_key:
            if not hmac.compare_digest(given.encode(), api_key.encode()):
                raise HTTPException(401, "invalid or missing API key")
        elif admin_token is not None:
            token = request.headers.get(ADMIN_TOKEN_HEADER) or given
            if not token_matches(token, admin_token):
                raise HTTPException(401, "the job manager needs the admin token (the "
                                         "security.admin_token_file the CLI reads) in the "
                                         f"{ADMIN_TOKEN_HEADER} header")

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

    @app.exception_handler(ValueError)
    async def _bad_value(_: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"detail": str(exc)})

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
                             req.resources, req.limits)
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
