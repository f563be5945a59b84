"""Engines dying mid-request: retried elsewhere, or a clean 503; restarts recover."""

from __future__ import annotations

import asyncio
import subprocess
import time

import httpx

from sage.common.ports import ephemeral_port
from tests.gateway.conftest import start_gateway, stub_command
from tests.gateway.stub_engine import ROOT, stub_engine, wait_ready

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


async def _post_then_kill(url: str, victim: subprocess.Popen[bytes]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        pending = asyncio.ensure_future(client.post("/v1/chat/completions", json=CHAT))
        await asyncio.sleep(0.4)  # the request is now inside the slow engine
        victim.kill()
        return await pending


async def test_engine_killed_mid_request_is_retried_on_another() -> None:
    slow_port, fast_port = ephemeral_port(), ephemeral_port()
    with stub_engine(slow_port, delay=10.0) as slow, stub_engine(fast_port, delay=0.0):
        gw = start_gateway(
            [f"http://127.0.0.1:{slow_port}", f"http://127.0.0.1:{fast_port}"], capacity=1
        )
        try:
            reply = await _post_then_kill(gw.url, slow)
            assert reply.status_code == 200, reply.text
            engines = {e["id"]: e for e in httpx.get(gw.url + "/health").json()["engines"]}
            assert not engines["stub0"]["healthy"] and engines["stub1"]["healthy"]
            assert engines["stub0"]["in_flight"] == 0
            assert httpx.post(gw.url + "/v1/chat/completions", json=CHAT).status_code == 200
        finally:
            gw.thread.stop()


async def test_last_engine_killed_gives_clean_503() -> None:
    port = ephemeral_port()
    with stub_engine(port, delay=10.0) as only:
        gw = start_gateway([f"http://127.0.0.1:{port}"], capacity=1)
        try:
            reply = await _post_then_kill(gw.url, only)
            assert reply.status_code == 503
            assert reply.json()["error"]["code"] == "engine_unavailable"
            again = httpx.post(gw.url + "/v1/embeddings", json={"input": "x"})
            assert again.status_code == 503
            assert httpx.get(gw.url + "/health").json()["status"] == "degraded"
        finally:
            gw.thread.stop()


async def test_engine_down_hook_restarts_and_engine_recovers() -> None:
    port = ephemeral_port()
    restarted: list[subprocess.Popen[bytes]] = []

    def restart(engine_id: str) -> None:  # what an engine manager does
        restarted.append(
            subprocess.Popen(
                stub_command(port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )

    with stub_engine(port, delay=10.0) as first:
        gw = start_gateway([f"http://127.0.0.1:{port}"], capacity=1, on_engine_down=restart)
        try:
            reply = await _post_then_kill(gw.url, first)
            assert reply.status_code == 503
            assert len(restarted) == 1
            wait_ready(f"http://127.0.0.1:{port}", restarted[0])
            end = time.monotonic() + 10
            while not httpx.get(gw.url + "/health").json()["engines"][0]["healthy"]:
                assert time.monotonic() < end, "engine never marked healthy again"
                await asyncio.sleep(0.05)
            ok = httpx.post(gw.url + "/v1/chat/completions", json={**CHAT, "delay": 0.0})
            assert ok.status_code == 200
        finally:
            gw.thread.stop()
            for proc in restarted:
                proc.kill()
                proc.wait()


async def test_engine_killed_mid_stream_ends_stream_with_error_event() -> None:
    port = ephemeral_port()
    with stub_engine(port, tokens=50) as engine:
        gw = start_gateway([f"http://127.0.0.1:{port}"], capacity=1)
        try:
            body = {**CHAT, "stream": True, "token_delay": 0.05}
            lines: list[str] = []
            async with (
                httpx.AsyncClient(base_url=gw.url, timeout=30) as client,
                client.stream("POST", "/v1/chat/completions", json=body) as response,
            ):
                assert response.status_code == 200
                async for line in response.aiter_lines():
                    if line.startswith("data: "):
                        lines.append(line)
                        if len(lines) == 3:
                            engine.kill()
            assert len(lines) < 50 and '"engine_failed"' in lines[-1]
            health = httpx.get(gw.url + "/health").json()
            assert not health["engines"][0]["healthy"]
            assert health["engines"][0]["in_flight"] == 0
        finally:
            gw.thread.stop()
