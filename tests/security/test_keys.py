"""Issue 23, items 10 and 11: keys that mean something, every engine route behind its
key, details of /health and /metrics behind keys, one-line start errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable

import httpx
import pytest

from sage.common.config import GatewaySettings, TenantKey
from sage.common.errors import ConfigError
from sage.common.ports import ephemeral_port
from sage.gateway.app import check_exposure, create_app
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.engines.spec import EngineInfo
from tests.fixtures.admin import ADMIN
from tests.fixtures.gateway import start_gateway

ENGINE_KEY = "fake-engine-key"
TENANT_KEY = "tenant-key-1"


def test_empty_and_short_gateway_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="too short"):
        create_app(ControlPlane("fifo"), GatewaySettings(api_keys=[TenantKey(key="")]))
    with pytest.raises(ConfigError, match="too short"):
        check_exposure(GatewaySettings(api_keys=[TenantKey(key="  ")]), "0.0.0.0")
    with pytest.raises(ConfigError, match="too short"):
        check_exposure(GatewaySettings(api_keys=[TenantKey(key="abc")]), "0.0.0.0")


def _fake_engine(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "sage.llm.engines.fake", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)


def test_engine_start_errors_are_one_line() -> None:
    short = _fake_engine("--port", str(ephemeral_port()), "--api-key", "x")
    assert short.returncode == 2 and "too short" in short.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = _fake_engine("--port", port)
    assert busy.returncode == 1
    assert busy.stderr.strip() == f"error: port {port} on 127.0.0.1 is already in use"
    assert "Traceback" not in short.stderr + busy.stderr


def test_every_engine_route_needs_its_key(fake_engine_factory: Callable[..., EngineInfo]) -> None:
    engine = fake_engine_factory(api_key=ENGINE_KEY)
    auth = {"Authorization": f"Bearer {ENGINE_KEY}"}
    config = httpx.post(engine.url + "/fake/config", json={"fail_status": 500})
    assert config.status_code == 401
    assert httpx.get(engine.url + "/v1/models").status_code == 401
    assert httpx.get(engine.url + "/health").json() == {"status": "ok"}  # liveness only
    assert "models" in httpx.get(engine.url + "/health", headers=auth).json()
    ok = httpx.post(engine.url + "/fake/config", json={"latency_ms": 0}, headers=auth)
    assert ok.status_code == 200


def test_health_and_metrics_details_need_a_key(fake_engine: EngineInfo) -> None:
    gw = start_gateway([fake_engine], GatewaySettings(api_keys=[TenantKey(key=TENANT_KEY)]))
    try:
        bare = httpx.get(gw.url + "/health")
        assert bare.status_code == 200 and bare.json() == {"status": "ok"}
        assert fake_engine.url not in bare.text
        assert httpx.get(gw.url + "/metrics").status_code == 401
        keyed = {"Authorization": f"Bearer {TENANT_KEY}"}
        assert "engines" in httpx.get(gw.url + "/health", headers=keyed).json()
        assert httpx.get(gw.url + "/metrics", headers=keyed).status_code == 200
        # the admin token also opens the admin API when keys are on
        assert httpx.get(gw.url + "/admin/policy", headers=ADMIN).status_code == 200
        assert httpx.get(gw.url + "/admin/policy", headers=keyed).status_code == 403
    finally:
        gw.stop()


def test_bad_settings_are_one_line_without_internals() -> None:
    env = {**os.environ, "SAGE_PORTS__GATEWAY": "abc"}
    cmd = [sys.executable, "-m", "sage.cli.main", "llm", "serve", "--no-engines"]
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: invalid settings: ports.gateway (SAGE_PORTS__GATEWAY): Input should be a "
        "valid integer, unable to parse string as an integer, got 'abc'"
    ]


def test_gateway_port_in_use_is_one_line_before_models_load() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cmd = [sys.executable, "-m", "sage.cli.main", "llm", "serve", "--port", str(port)]
        busy = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                              env={**os.environ, "COLUMNS": "200"})
    assert busy.returncode == 2
    assert busy.stderr.strip() == f"port {port} on 127.0.0.1 is already in use"
