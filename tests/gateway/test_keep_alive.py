"""Keep-alive on both sides of a hop: a pooled connection must never be reused just as
the server closes it (the gateway's compare run lost an embedding call to that race)."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sage.common.ports import CLIENT_POOL_IDLE_S, SERVER_KEEP_ALIVE_S
from sage.gateway.app import uvicorn_config
from sage.llm.control_plane.dispatcher import ControlPlane
from sage.llm.control_plane.types import RequestKind
from tests.fixtures.gateway import CHAT


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
        assert cp.transport.session is not None
        connector = cp.transport.session.connector
        assert connector._keepalive_timeout == CLIENT_POOL_IDLE_S  # type: ignore[union-attr]


class IdleClosingEngine:
    """An engine that closes a kept-alive connection just as the client reuses it, once:
    the race itself. Raw asyncio, as no HTTP framework lets a handler drop its connection
    unanswered; every other request gets a 200 with a chat completion."""

    REPLY = json.dumps(
        {
            "id": "c",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
        }
    ).encode()

    def __init__(self) -> None:
        self.answered = 0
        self.dropped = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        served_here = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
                await reader.readexactly(int(length.group(1)) if length else 0)
                if served_here and not self.dropped:
                    self.dropped += 1
                    return  # closed unanswered, as an idle close that crossed the request
                served_here += 1
                self.answered += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(self.REPLY), self.REPLY)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def test_a_live_engine_that_drops_a_pooled_connection_gets_the_request_again() -> None:
    engine = IdleClosingEngine()
    server = await asyncio.start_server(engine.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with ControlPlane("fifo") as cp:
            cp.add_engine(f"http://127.0.0.1:{port}", kind="llm", models="m")
            for _ in range(3):
                reply = await cp.submit(cp.new_request(RequestKind.CHAT, "m"), CHAT)
                assert reply.status == 200, reply.body
            assert engine.dropped == 1  # the second call met the close, and was sent again
            assert engine.answered == 4  # three calls and the probe that found it alive
            assert cp.engines()[0].state.healthy  # the engine passed its probe: kept serving
    finally:
        server.close()
        await server.wait_closed()
