"""Engines SAGE does not run: an OpenAI-compatible URL it probes and lists."""

from __future__ import annotations

from sage.common.errors import EngineError
from sage.llm.engines.external import probe, with_served_models
from sage.llm.engines.spec import EngineInfo, EngineStatus
from sage.llm.engines.urls import normalize_url
from sage.llm.launchers.base import LaunchContext


class ExternalLauncher:
    """No process: ``start`` probes the URL and learns the models it serves."""

    claims_port = False

    def __init__(self, ctx: LaunchContext) -> None:
        self.ctx = ctx

    def start(self, info: EngineInfo, *, wait: bool) -> None:
        url = normalize_url(info.spec.url or info.url)
        healthy = probe(url, info.spec.api_key)
        if wait and not healthy:
            raise EngineError(f"no OpenAI-compatible engine answers at {url} (GET /v1/models)")
        spec = info.spec.model_copy(update={"url": url})
        info.spec = with_served_models(spec) if healthy else spec
        info.url = url
        info.status = EngineStatus.HEALTHY if healthy else EngineStatus.UNHEALTHY
        self.ctx.save(info)

    def wait_healthy(self, info: EngineInfo, timeout: float | None = None) -> None:
        if not probe(info.url, info.spec.api_key):
            raise EngineError(f"no OpenAI-compatible engine answers at {info.url}")
        info.status = EngineStatus.HEALTHY
        self.ctx.save(info)

    def restart(self, info: EngineInfo) -> None:
        """Nothing to restart: record whether it answers now."""
        status = self.status(info)
        if status is not info.status:
            info.status = status
            self.ctx.save(info)

    def status(self, info: EngineInfo) -> EngineStatus:
        ok = probe(info.url, info.spec.api_key)
        return EngineStatus.HEALTHY if ok else EngineStatus.UNHEALTHY

    def listed_status(self, info: EngineInfo) -> EngineStatus:
        return info.status

    def gone(self, info: EngineInfo) -> bool:
        return True  # nothing of it runs here

    def interrupt(self, info: EngineInfo) -> None:
        return None

    def stop(self, info: EngineInfo, timeout: float = 10.0) -> None:
        info.status = EngineStatus.STOPPED

    def log_tail(self, info: EngineInfo, lines: int) -> str:
        return ""

    def forget(self, engine_id: str) -> None:
        return None
