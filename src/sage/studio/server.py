"""Run the studio: in the foreground (``sage studio start``) or on a background thread
(``sage demo --studio``, tests)."""

from __future__ import annotations

import asyncio

from sage.common.errors import ConfigError
from sage.common.ports import DEFAULT_HOST
from sage.gateway.app import uvicorn_config
from sage.gateway.server import GatewayThread
from sage.llm.exposure import is_loopback
from sage.studio.app import create_app
from sage.studio.config import StudioConfig


def check_host(host: str) -> None:
    """The studio has no login of its own: loopback only (use an SSH tunnel)."""
    if not is_loopback(host):
        raise ConfigError(
            f"refusing to bind the studio to {host}: it has no login of its own; bind "
            "127.0.0.1 and reach it over a tunnel (ssh -L 5173:127.0.0.1:5173 HOST)"
        )


def serve(config: StudioConfig, host: str = DEFAULT_HOST, port: int = 5173,
          log_level: str = "warning") -> None:
    """Serve until interrupted."""
    import uvicorn

    check_host(host)
    server = uvicorn.Server(uvicorn_config(create_app(config), host, port, log_level))
    asyncio.run(server.serve())


def start_in_thread(config: StudioConfig, host: str = DEFAULT_HOST,
                    port: int | None = None) -> GatewayThread:
    """The studio on a daemon thread; ``.url`` is its address, ``.stop()`` ends it."""
    check_host(host)
    return GatewayThread(create_app(config), host, port).start()
