"""Keep-alive on both sides of a hop: a pooled connection must never be reused just as
the server closes it (the gateway's compare run lost an embedding call to that race)."""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sage.common.ports import CLIENT_POOL_IDLE_S, SERVER_KEEP_ALIVE_S
from sage.gateway.app import uvicorn_config
from sage.llm.control_plane.dispatcher import ControlPlane


def test_sage_servers_keep_connections_longer_than_common_clients_pool_them() -> None:
    assert httpx.Limits().keepalive_expiry < SERVER_KEEP_ALIVE_S  # httpx, openai SDK: 5 s
    assert uvicorn_config(FastAPI(), "127.0.0.1", 0).timeout_keep_alive == SERVER_KEEP_ALIVE_S


def test_engine_servers_keep_connections_as_long(monkeypatch: pytest.MonkeyPatch) -> None:
    from sage.llm.engines import server

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    args = argparse.Namespace(host="127.0.0.1", port=0, log_level="warning", parent_pid=None)
    server.serve(FastAPI(), args)
    assert seen["timeout_keep_alive"] == SERVER_KEEP_ALIVE_S


async def test_the_gateway_drops_idle_connections_before_common_servers_close_them() -> None:
    assert uvicorn.Config(FastAPI()).timeout_keep_alive > CLIENT_POOL_IDLE_S  # uvicorn, vLLM: 5 s
    async with ControlPlane("fifo") as cp:
        assert cp._client is not None
        assert cp._client.connector._keepalive_timeout == CLIENT_POOL_IDLE_S  # type: ignore[union-attr]
