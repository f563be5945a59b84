"""``ServingStack`` / ``sage llm serve`` in front of external engines by URL."""

from __future__ import annotations

import httpx
import pytest

from sage.common.config import GatewaySettings
from sage.common.errors import ConfigError
from sage.gateway.specs import EngineSpec
from sage.gateway.stack import ServingStack, serve_stack


def test_engine_spec_parsing() -> None:
    spec = EngineSpec.parse("http://h:1,kind=both,capacity=8,model=a,model=b,id=x")
    assert (spec.kind, spec.capacity, spec.models, spec.id) == ("both", 8, ["a", "b"], "x")
    assert EngineSpec.parse(spec.to_arg()) == spec
    for bad in ("h:1", "http://h:1,kind=gpu", "http://h:1,oops", "http://h:1,color=red"):
        with pytest.raises(ValueError):
            EngineSpec.parse(bad)


def test_thread_stack_discovers_models(stub_url: str) -> None:
    with serve_stack(engine_urls=[f"{stub_url},kind=both"], policy="least_loaded") as url:
        models = httpx.get(url + "/v1/models").json()["data"]
        assert {m["id"] for m in models} == {"stub-llm", "stub-embed"}
        assert httpx.post(url + "/v1/embeddings", json={"input": "x"}).status_code == 200


def test_process_stack_runs_cli_and_stops(stub_url: str) -> None:
    stack = ServingStack(
        engine_urls=[f"{stub_url},kind=both,capacity=4"], mode="process", policy="fifo"
    )
    with stack:
        assert stack._process is not None
        r = httpx.post(
            stack.url + "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
        assert r.status_code == 200
        assert httpx.get(stack.url + "/admin/policy").json()["name"] == "fifo"
        process = stack._process
    assert process.poll() is not None  # stopped cleanly


def test_stack_refuses_exposed_bind_without_keys() -> None:
    with pytest.raises(ConfigError):
        ServingStack(host="0.0.0.0", settings=GatewaySettings()).start()


class FakeManager:
    """Stands in for the engine manager: stub engines it starts, restarts and stops."""

    def __init__(self) -> None:
        from tests.gateway.fallback_engines import FallbackEngineInfo

        self.info_type = FallbackEngineInfo
        self.procs: dict[str, object] = {}
        self.infos: dict[str, object] = {}
        self.restarts: list[str] = []

    def _spawn(self, engine_id: str, port: int) -> None:
        import subprocess

        from tests.gateway.conftest import stub_command
        from tests.gateway.stub_engine import ROOT, wait_ready

        proc = subprocess.Popen(
            stub_command(port), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.procs[engine_id] = proc
        wait_ready(f"http://127.0.0.1:{port}", proc)

    def start_engine(self, kind: str, model: str | None) -> object:
        from sage.common.ports import ephemeral_port

        port = ephemeral_port()
        engine_id = f"{kind}-0"
        self._spawn(engine_id, port)
        info = self.info_type(engine_id, "both", "stub-llm", f"http://127.0.0.1:{port}", capacity=2)
        self.infos[engine_id] = info
        return info

    def restart(self, engine_id: str) -> None:
        self.restarts.append(engine_id)
        port = int(self.infos[engine_id].url.rsplit(":", 1)[1])  # type: ignore[attr-defined]
        self._spawn(engine_id, port)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.kill()  # type: ignore[attr-defined]
            proc.wait()  # type: ignore[attr-defined]


def test_stack_with_engine_manager_restarts_dead_engine() -> None:
    import time

    manager = FakeManager()
    try:
        with ServingStack(llm_model="default", engine_manager=manager) as stack:
            chat = {"messages": [{"role": "user", "content": "hi"}]}
            url = stack.url + "/v1/chat/completions"
            assert httpx.post(url, json=chat).status_code == 200
            manager.procs["llm-0"].kill()  # type: ignore[attr-defined]
            assert httpx.post(url, json=chat).status_code == 503
            end = time.monotonic() + 15
            while httpx.post(url, json=chat).status_code != 200:
                assert time.monotonic() < end, "engine was not restarted"
                time.sleep(0.1)
            assert manager.restarts == ["llm-0"]
    finally:
        manager.stop_all()
