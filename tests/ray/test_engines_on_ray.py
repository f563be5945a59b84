"""Engines placed on Ray by the engine manager and ``sage engine start --ray``: an engine
is a Ray actor on the node its resources and scheduler choose, reached over HTTP,
listed, logged, restarted and stopped like a local one; impossible demands fail at once."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from sage.cli.main import app
from sage.common.config import get_settings
from sage.common.errors import ConfigError, ResourceUnavailableError
from sage.common.ports import ephemeral_port
from sage.common.processes import process_running
from sage.llm.engine_manager import EngineManager
from sage.llm.engines.spec import EngineInfo, EngineSpec, EngineStatus, RayPlacement
from tests.fixtures.engines import wait_until
from tests.llm.engines.test_llm_engine import QUESTION

pytestmark = pytest.mark.ray

runner = CliRunner()
CHAT = {"model": "fake-llm", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}


def _fake_on_ray(resources: dict[str, float], **options: Any) -> EngineSpec:
    return EngineSpec(kind="both", backend="fake", port=ephemeral_port(),
                      placement=RayPlacement(resources=resources, scheduler="spread"), **options)


def _actor_gone(name: str) -> bool:
    from sage.kernel.runtime.ray.processes import find_process

    try:
        find_process(name)
    except ConfigError:
        return True
    return False


def test_fake_engine_placed_on_ray_end_to_end(ray_cluster: Any, tmp_path: Path) -> None:
    owner = EngineManager(tmp_path, detach=True)  # detached: other drivers find its actor
    info = owner.start(_fake_on_ray({"gpu_node": 1}))
    assert info.ray is not None and info.ray.name.startswith(f"engine-{info.id}-")
    assert info.ray.node_id == ray_cluster.get_runtime_context().get_node_id()
    assert info.ray.address  # how another CLI run reconnects
    # One node on this machine: loopback bind, no key needed.
    assert info.url == f"http://127.0.0.1:{info.spec.port}" and info.spec.api_key is None

    models = httpx.get(info.url + "/v1/models", timeout=10).json()
    assert "fake-llm" in [m["id"] for m in models["data"]]
    chat = httpx.post(info.url + "/v1/chat/completions", json=CHAT, timeout=10)
    assert chat.status_code == 200 and chat.json()["choices"][0]["message"]["content"]

    # Another manager (as another `sage engine` run) knows it only from the registry.
    other = EngineManager(tmp_path, detach=True)
    listed = {e.id: e for e in other.list(refresh=True)}
    assert listed[info.id].status is EngineStatus.HEALTHY
    assert listed[info.id].ray == info.ray
    assert "sage.llm.engines.fake" in other.logs(info.id)  # the log file, on this machine
    # As if the engine ran on another node: no local file, read through the actor.
    other.registry.update(lambda e: setattr(e[info.id], "log_path", tmp_path / "elsewhere.log"))
    assert "sage.llm.engines.fake" in other.logs(info.id)

    other.stop(info.id)
    wait_until(lambda: _actor_gone(info.ray.name), "the engine's actor to go")
    wait_until(lambda: not process_running(info.pid), "the engine process to exit")
    assert other.list() == []


def test_exposed_engine_gets_a_generated_key(ray_cluster: Any, tmp_path: Path) -> None:
    with EngineManager(tmp_path, persist=False) as manager:
        info = manager.start(_fake_on_ray({"cpu_node": 1}, host="0.0.0.0"))
        key = info.spec.api_key
        assert key and len(key) >= 32
        assert info.ray is not None and info.url == f"http://{info.ray.node_ip}:{info.spec.port}"
        assert httpx.get(info.url + "/v1/models", timeout=10).status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        assert httpx.get(info.url + "/v1/models", headers=auth, timeout=10).status_code == 200
        assert manager.check_health()[info.id] is EngineStatus.HEALTHY  # uses the stored key
    assert _actor_gone(info.ray.name)


def test_dead_engine_on_ray_is_restarted(ray_cluster: Any, tmp_path: Path) -> None:
    with EngineManager(tmp_path, persist=False) as manager:
        info = manager.start(_fake_on_ray({"cpu_node": 1},
                                          extra_args=["--die-after-requests", "1"]))
        first = info.ray
        assert first is not None
        with contextlib.suppress(httpx.HTTPError):  # it dies on this request
            httpx.post(info.url + "/v1/chat/completions", json=CHAT, timeout=10)
        wait_until(lambda: manager.check_health()[info.id] is EngineStatus.DEAD,
                   "the engine to be seen dead")
        assert manager.watch_once()[info.id] is EngineStatus.HEALTHY
        assert manager.get(info.id).restarts == 1
        assert info.ray is not None and info.ray.name != first.name
        assert _actor_gone(first.name)
        assert httpx.get(info.url + "/v1/models", timeout=10).status_code == 200


def test_impossible_placement_fails_at_once(ray_cluster: Any, tmp_path: Path) -> None:
    manager = EngineManager(tmp_path)
    started = time.monotonic()
    with pytest.raises(ResourceUnavailableError, match=r"needs GPU=1"):
        manager.start(_fake_on_ray({"num_gpus": 1}))
    assert time.monotonic() - started < 30  # no waiting for resources that never come
    assert manager.list() == []  # the port and id claim is released


@pytest.mark.engines
def test_default_llm_engine_placed_on_ray_answers(ray_cluster: Any, tmp_path: Path) -> None:
    spec = EngineSpec(kind="llm", backend="llama_cpp", port=ephemeral_port(),
                      placement=RayPlacement(resources={"cpu_node": 1}))
    with EngineManager(tmp_path, persist=False) as manager:
        info = manager.start(spec)
        body = {"messages": QUESTION, "max_tokens": 32, "temperature": 0}
        out = httpx.post(info.url + "/v1/chat/completions", json=body, timeout=120).json()
        assert "paris" in out["choices"][0]["message"]["content"].lower()
        assert info.ray is not None
    assert _actor_gone(info.ray.name)


# -- CLI -------------------------------------------------------------------------------


@pytest.fixture
def sage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SAGE_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    runner.invoke(app, ["engine", "stop", "--all"])
    get_settings.cache_clear()


def test_cli_dry_run_shows_the_placement(sage_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    args = ["engine", "start", "--backend", "fake", "--ray", "--resource", "gpu_node=1",
            "--resource", "num_cpus=0.5", "--scheduler", "load_aware", "--dry-run"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("# placement: ray (address auto; resources gpu_node=1, num_cpus=0.5; "
                        "scheduler load_aware)")
    assert "generated API key" in lines[1]
    assert "sage.llm.engines.fake" in lines[-1]


@pytest.mark.parametrize("args", [
    ["--ray", "--resource", "num_gpus=lots"],
    ["--ray", "--resource", "num_gpus"],
    ["--ray", "--scheduler", "nope"],
    ["--resource", "num_gpus=1"],  # --ray missing
])
def test_cli_bad_placement_options(sage_home: Path, args: list[str]) -> None:
    result = runner.invoke(app, ["engine", "start", "--backend", "fake", *args, "--dry-run"])
    assert result.exit_code == 2, result.output


def test_cli_start_on_ray_list_logs_stop(ray_cluster: Any, sage_home: Path) -> None:
    port = ephemeral_port()
    result = runner.invoke(app, ["engine", "start", "--backend", "fake", "--port", str(port),
                                 "--ray", "--resource", "cpu_node=1"])
    assert result.exit_code == 0, result.output
    engine_id = result.stdout.strip().splitlines()[-1]
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=10).status_code == 200
    listed = json.loads(runner.invoke(app, ["engine", "list", "--json"]).stdout)
    assert [(e["id"], e["status"]) for e in listed] == [(engine_id, "healthy")]
    assert listed[0]["ray"]["node_ip"] and listed[0]["spec"]["placement"]["resources"] == {
        "cpu_node": 1.0}
    assert "sage.llm.engines.fake" in runner.invoke(app, ["engine", "logs", engine_id]).stdout
    name = EngineInfo.model_validate(listed[0]).ray.name  # type: ignore[union-attr]
    assert runner.invoke(app, ["engine", "stop", engine_id]).exit_code == 0
    wait_until(lambda: _actor_gone(name), "the engine's actor to go")


def test_cli_gpu_on_cpu_cluster_fails_with_exit_2(ray_cluster: Any, sage_home: Path) -> None:
    started = time.monotonic()
    result = runner.invoke(app, ["engine", "start", "--backend", "fake", "--ray",
                                 "--resource", "num_gpus=1"])
    assert result.exit_code == 2, result.output
    assert "needs GPU=1" in result.output and "cluster offers" in result.output
    assert time.monotonic() - started < 30
    assert json.loads(runner.invoke(app, ["engine", "list", "--json"]).stdout) == []
