"""Gateways for this folder: ``real_gateway`` over the session's real engines (API
behaviour, bad input), ``start_gateway`` over fake engines where a test needs an engine
that is slow, failing or killed on purpose (faults, overload, queueing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from sage.common.config import GatewaySettings
from sage.gateway.app import create_app
from sage.gateway.server import GatewayThread
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.engines import RealEngines

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def slow(body: dict[str, Any], latency_ms: float) -> dict[str, Any]:
    """``body`` that makes the fake engine wait ``latency_ms`` before answering."""
    return {**body, "fake": {"latency_ms": latency_ms}}


@dataclass
class Gateway:
    url: str
    engines: list[EngineInfo]
    cp: ControlPlane
    thread: GatewayThread

    def stop(self) -> None:
        self.thread.stop()


def start_gateway(
    engines: list[EngineInfo],
    settings: GatewaySettings | None = None,
    policy: str = "hybrid",
    **cp_options: Any,
) -> Gateway:
    """A gateway (thread) over ``engines``, which nobody restarts unless ``on_engine_down``
    says so; unhealthy engines are re-probed every 0.1 s."""
    cp = ControlPlane(policy, health_interval_s=0.1, **cp_options)
    for info in engines:
        cp.add_engine_info(info)
    thread = GatewayThread(create_app(cp, settings or GatewaySettings())).start()
    return Gateway(thread.url, engines, cp, thread)


@pytest.fixture(scope="module")
def real_gateway(real_engines: RealEngines) -> Iterator[Gateway]:
    """The real engines behind a hybrid gateway that takes bodies up to 64 KiB."""
    gw = start_gateway(real_engines.engines, GatewaySettings(max_body_bytes=64 * 1024))
    yield gw
    gw.stop()
