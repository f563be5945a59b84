"""The studio's per-app state: its config, the two upstreams and the live feed."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from sage.studio.config import StudioConfig
from sage.studio.live import LiveFeed
from sage.studio.upstream import Upstream


@dataclass
class Studio:
    config: StudioConfig
    gateway: Upstream
    jobmanager: Upstream
    feed: LiveFeed

    @classmethod
    def from_config(cls, config: StudioConfig) -> Studio:
        timeout = config.upstream_timeout_s
        gateway = Upstream("gateway", config.gateway_url, config.gateway_headers(), timeout,
                           token=config.token_headers)
        jobmanager = Upstream("job manager", config.jobmanager_url,
                              config.jobmanager_headers(), timeout, token=config.token_headers)
        return cls(config, gateway, jobmanager, LiveFeed(config, gateway, jobmanager))

    async def aclose(self) -> None:
        await self.feed.aclose()
        await self.gateway.aclose()
        await self.jobmanager.aclose()


def studio_of(request: Request) -> Studio:
    """FastAPI dependency: the app's :class:`Studio`."""
    return request.app.state.studio  # type: ignore[no-any-return]
