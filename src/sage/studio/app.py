"""``create_app(config)``: the studio's FastAPI app - the JSON/SSE API under ``/api``,
benchmark files under ``/results`` and the web UI (static ES modules, no build step)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sage.common.http_guard import detail_error, install_http_guard
from sage.common.security import SecuritySettings
from sage.studio import routes_bench, routes_gateway, routes_jobs
from sage.studio.config import StudioConfig
from sage.studio.state import Studio

STATIC_DIR = Path(__file__).parent / "static"


class _CachedStatic(StaticFiles):
    """The UI's files: revalidated by ETag, so a reload costs 304s, not bytes."""

    def file_response(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "no-cache")
        return response


def create_app(config: StudioConfig | None = None,
               security: SecuritySettings | None = None) -> FastAPI:
    """The studio for ``config``; the Host/Origin/JSON guard of every SAGE service."""
    config = config or StudioConfig()
    studio = Studio.from_config(config)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await studio.aclose()

    app = FastAPI(title="SAGE Studio", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.studio = studio
    install_http_guard(app, security, error=detail_error)
    app.include_router(routes_gateway.router)
    app.include_router(routes_jobs.router)
    app.include_router(routes_bench.router)
    app.mount("/results", StaticFiles(directory=config.results_dir, check_dir=False),
              name="results")
    app.mount("/", _CachedStatic(directory=STATIC_DIR, html=True), name="ui")
    return app
