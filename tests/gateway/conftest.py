"""Stub-engine gateways for the behaviour, bad-input and fault tests in this folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sage.common.config import GatewaySettings
from sage.common.ports import ephemeral_port
from sage.gateway.app import create_app
from sage.gateway.server import GatewayThread
from sage.llm.control_plane.dispatcher import ControlPlane
from tests.gateway.stub_engine import stub_engine


def stub_command(port: int, delay: float = 0.0) -> list[str]:
    """The command line that runs a stub engine on ``port``."""
    import sys

    return [
        sys.executable,
        "-m",
        "tests.gateway.stub_engine",
        "--port",
        str(port),
        "--delay",
        str(delay),
    ]


@dataclass
class StubGateway:
    url: str
    engine_urls: list[str]
    cp: ControlPlane
    thread: GatewayThread


@pytest.fixture(scope="module")
def stub_url() -> Iterator[str]:
    """One stub engine (LLM + embedding) for the module."""
    port = ephemeral_port()
    with stub_engine(port, delay=0.0):
        yield f"http://127.0.0.1:{port}"


def start_gateway(
    engine_urls: list[str],
    settings: GatewaySettings | None = None,
    policy: str = "hybrid",
    capacity: int = 4,
    **cp_options: object,
) -> StubGateway:
    cp = ControlPlane(policy, health_interval_s=0.1, **cp_options)  # type: ignore[arg-type]
    for i, url in enumerate(engine_urls):
        cp.add_engine(
            url,
            kind="both",
            models=["stub-llm", "stub-embed"],
            engine_id=f"stub{i}",
            capacity=capacity,
            max_batch=32,
        )
    thread = GatewayThread(create_app(cp, settings or GatewaySettings())).start()
    return StubGateway(thread.url, engine_urls, cp, thread)


@pytest.fixture(scope="module")
def stub_gateway(stub_url: str) -> Iterator[StubGateway]:
    gw = start_gateway([stub_url], GatewaySettings(max_body_bytes=64 * 1024))
    yield gw
    gw.thread.stop()
