"""``ServingStack`` / ``sage llm serve`` over real engines: started, registered or
reached by URL (with API keys), the gateway in a thread or in its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sage.common.config import GatewaySettings
from sage.common.errors import ConfigError
from sage.common.ports import ephemeral_port
from sage.gateway.stack import ServingStack, serve_stack
from sage.llm.engine_manager import EngineManager, pid_alive
from sage.llm.engines.external import engine_url_arg, parse_engine_url
from sage.llm.engines.spec import EngineInfo, EngineSpec
from tests.fixtures.admin import ADMIN
from tests.fixtures.engines import RealEngines, wait_until

KEY = "engine-secret"
SHORT_CHAT = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}


def test_engine_url_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GPU_BOX_KEY", "sk-1")
    spec = parse_engine_url(
        "http://h:1/v1,kind=both,capacity=8,model=a,model=b,api_key_env=GPU_BOX_KEY"
    )
    assert (spec.backend, spec.url, spec.kind, spec.capacity) == (
        "external",
        "http://h:1",
        "both",
        8,
    )
    assert spec.models == ["a", "b"] and spec.api_key == "sk-1"
    text = engine_url_arg(spec, "GPU_BOX_KEY")
    assert "sk-1" not in text and parse_engine_url(text) == spec
    for bad in (
        "h:1",
        "",
        "http://h:1,kind=gpu",
        "http://h:1,oops",
        "http://h:1,color=red",
        "http://h:1,capacity=0",
        "http://h:1,api_key_env=NO_SUCH_VARIABLE_SET",
    ):
        with pytest.raises(ValueError):
            parse_engine_url(bad)


def test_thread_stack_discovers_models(real_engines: RealEngines) -> None:
    urls = [f"{real_engines.llm.url},kind=llm", f"{real_engines.embedding.url}/v1,kind=embedding"]
    with serve_stack(engine_urls=urls, policy="least_loaded") as url:
        models = httpx.get(url + "/v1/models").json()["data"]
        assert {m["id"] for m in models} == {e.model for e in real_engines.engines}
        assert httpx.post(url + "/v1/embeddings", json={"input": "x"}).status_code == 200


def test_process_stack_runs_cli_and_stops(real_engines: RealEngines) -> None:
    stack = ServingStack(engines=real_engines.engines, mode="process", policy="fifo")
    with stack:
        assert stack._process is not None
        r = httpx.post(stack.url + "/v1/chat/completions", json=SHORT_CHAT, timeout=60)
        assert r.status_code == 200
        assert httpx.get(stack.url + "/admin/policy", headers=ADMIN).json()["name"] == "fifo"
        engines = httpx.get(stack.url + "/admin/engines", headers=ADMIN).json()["engines"]
        assert {e["url"] for e in engines} == {e.url for e in real_engines.engines}
        process = stack._process
    assert process.poll() is not None  # stopped cleanly


def test_stack_refuses_exposed_bind_without_keys() -> None:
    with pytest.raises(ConfigError):
        ServingStack(host="0.0.0.0", settings=GatewaySettings()).start()


@pytest.fixture(scope="module")
def keyed_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EngineManager, EngineInfo]]:
    """A real llama.cpp engine that wants ``KEY``, on a manager of its own."""
    with EngineManager(tmp_path_factory.mktemp("keyed"), persist=False) as manager:
        yield manager, manager.start(EngineSpec(kind="llm", api_key=KEY, port=ephemeral_port()))


def test_stack_starts_and_stops_its_own_engines(
    keyed_llm: tuple[EngineManager, EngineInfo],
) -> None:
    manager, other = keyed_llm
    stack = ServingStack(
        start_engines=[EngineSpec(kind="llm", capacity=1, port=ephemeral_port())],
        engine_manager=manager,
    )
    with stack:
        (mine,) = stack.engine_infos
        assert mine.healthy and mine.backend == "llama_cpp" and mine.id != other.id
        r = httpx.post(stack.url + "/v1/chat/completions", json=SHORT_CHAT, timeout=60)
        assert r.status_code == 200
    assert mine.pid is not None
    wait_until(lambda: not pid_alive(mine.pid), "the stack's engine to stop")
    assert other.healthy and pid_alive(other.pid)  # not the stack's: left running


def test_external_engines_with_an_api_key(
    keyed_llm: tuple[EngineManager, EngineInfo], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyed engines: by URL (``api_key_env``), by the engine manager and by the admin API."""
    manager, keyed = keyed_llm
    assert httpx.get(keyed.url + "/v1/models").status_code == 401  # the key is needed
    monkeypatch.setenv("KEYED_ENGINE_KEY", KEY)
    with serve_stack(engine_urls=[f"{keyed.url},api_key_env=KEYED_ENGINE_KEY"]) as url:
        models = {m["id"] for m in httpx.get(url + "/v1/models").json()["data"]}
        assert models == {keyed.model}  # discovered with the key
        r = httpx.post(url + "/v1/chat/completions", json=SHORT_CHAT, timeout=60)
        assert r.status_code == 200

    external = manager.start(EngineSpec(backend="external", url=keyed.url, api_key=KEY))
    try:
        assert external.healthy and external.models == [keyed.model]
        with ServingStack(engines=[external], engine_manager=manager) as stack:
            body = {"prompt": "The sky is", "max_tokens": 2}
            assert httpx.post(stack.url + "/v1/completions", json=body, timeout=60).is_success
            registration = {"url": keyed.url, "id": "again", "api_key": KEY}
            r = httpx.post(stack.url + "/admin/engines", json=registration, headers=ADMIN)
            assert r.status_code == 201 and r.json()["models"] == [keyed.model]
            assert KEY not in httpx.get(stack.url + "/admin/engines", headers=ADMIN).text
    finally:
        manager.stop(external.id)


def test_llm_serve_uses_engines_from_sage_engine_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``sage engine start`` (the embedded SmolLM2) then ``sage llm serve --engine ID``;
    Ctrl-C (SIGTERM) stops the gateway and leaves the registered engine running."""
    import os
    import signal
    import subprocess
    import sys

    from typer.testing import CliRunner

    from sage.cli.main import app
    from sage.common.config import get_settings
    from sage.gateway.stack import wait_for_gateway

    monkeypatch.setenv("SAGE_HOME", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        port = ephemeral_port()
        started = runner.invoke(app, ["engine", "start", "--id", "shared", "--port", str(port)])
        assert started.exit_code == 0, started.output
        port = ephemeral_port()  # the gateway's
        serve = subprocess.Popen(
            [sys.executable, "-m", "sage.cli.main", "llm", "serve", "--engine", "shared",
             "--port", str(port), "--policy", "fifo"],
            env={**os.environ, "SAGE_HOME": str(tmp_path)},
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_gateway(url, serve)
            r = httpx.post(url + "/v1/chat/completions", json=SHORT_CHAT, timeout=60)
            assert r.status_code == 200
            assert [e["id"] for e in httpx.get(url + "/admin/engines", headers=ADMIN).json()["engines"]] == [
                "shared"
            ]
        finally:
            serve.send_signal(signal.SIGTERM)
            assert serve.wait(30) == 0
        listed = runner.invoke(app, ["engine", "list", "--json"])
        assert '"status": "healthy"' in listed.stdout  # still serving after the gateway left
        unknown = subprocess.run(
            [sys.executable, "-m", "sage.cli.main", "llm", "serve", "--engine", "nope"],
            env={**os.environ, "SAGE_HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert unknown.returncode == 2 and "nope" in unknown.stderr
    finally:
        runner.invoke(app, ["engine", "stop", "--all"])
        get_settings.cache_clear()
