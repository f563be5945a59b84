"""Issue 23, item 11: SIGTERM to ``sage llm serve`` ends a live stream with an error event
and ``[DONE]`` instead of cutting it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable

import httpx

from sage.common.ports import ephemeral_port
from sage.gateway.stack import wait_for_gateway
from sage.llm.engines.spec import EngineInfo


def test_sigterm_drains_live_streams(fake_engine_factory: Callable[..., EngineInfo]) -> None:
    engine = fake_engine_factory(tokens=400, token_delay_ms=50)  # a 20 s stream
    port = ephemeral_port()
    cmd = [sys.executable, "-m", "sage.cli.main", "llm", "serve", "--no-engines",
           "--port", str(port), "--engine-url", f"{engine.url},kind=both"]
    gateway = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_gateway(url, gateway)
        body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
        events: list[str] = []
        with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=60) as r:
            assert r.status_code == 200
            for line in r.iter_lines():
                if not line.startswith("data: "):
                    continue
                events.append(line[6:])
                if len(events) == 3:
                    gateway.send_signal(signal.SIGTERM)
        assert events[-1] == "[DONE]"
        error = json.loads(events[-2])["error"]
        assert error["code"] == "server_shutting_down"
        assert len(events) < 100  # cut short, not streamed to the end
        assert gateway.wait(30) == 0
    finally:
        if gateway.poll() is None:
            gateway.kill()
            gateway.wait()
