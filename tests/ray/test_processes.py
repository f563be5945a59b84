"""A long-running process (an engine's command line) placed on the cluster like a task:
its resources are honoured, it is reachable, stoppable, and never outlives its actor."""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import httpx
import pytest

from sage.common.errors import ConfigError, ResourceUnavailableError
from sage.common.ports import ephemeral_port
from sage.common.processes import process_running

pytestmark = pytest.mark.ray


def _http_server(port: int) -> list[str]:
    return [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]


def _wait_until(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_engine_command_runs_where_its_resources_are(ray_cluster: Any) -> None:
    from sage.kernel.runtime.ray.processes import find_process, place_process

    port = ephemeral_port()
    name = f"engine-{uuid.uuid4().hex[:6]}"
    proc = place_process(name, _http_server(port), resources={"gpu_node": 1},
                         scheduler="spread", env={"SAGE_ENGINE_ID": name})
    try:
        assert proc.node_id == ray_cluster.get_runtime_context().get_node_id()
        assert proc.resources.get("gpu_node") == 1.0
        assert proc.node_ip
        _wait_until(lambda: _answers(port), "the placed server never answered")
        assert proc.alive() and proc.returncode() is None
        assert find_process(name).pid == proc.pid
        assert "GET /" in proc.tail()
        assert "start: " in proc.tail() and "http.server" in proc.tail()  # the command line
    finally:
        code = proc.stop(timeout=10)
    assert code is not None
    assert not process_running(proc.pid)
    with pytest.raises(ConfigError, match="no placed process"):
        find_process(name)


def test_killing_the_actor_takes_the_process_with_it(ray_cluster: Any) -> None:
    from sage.kernel.runtime.ray.processes import place_process

    proc = place_process(f"orphan-{uuid.uuid4().hex[:6]}",
                         [sys.executable, "-c", "import time; time.sleep(300)"],
                         resources={"cpu_node": 1})
    assert process_running(proc.pid)
    ray_cluster.kill(proc.actor, no_restart=True)
    _wait_until(lambda: not process_running(proc.pid), "the child outlived its actor")


def test_impossible_resources_fail_at_once(ray_cluster: Any) -> None:
    from sage.kernel.runtime.ray.processes import place_process

    with pytest.raises(ResourceUnavailableError, match=r"needs GPU=1"):
        place_process("needs-gpu", [sys.executable, "-c", "pass"],
                      resources={"num_gpus": 1})
    with pytest.raises(ConfigError, match="empty command"):
        place_process("nothing", [])


def test_cluster_facts_for_placed_servers(ray_cluster: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from sage.kernel.runtime.ray import processes

    assert processes.cluster_is_this_machine()  # the test cluster: one node, here
    gcs = processes.cluster_address()
    assert gcs == ray_cluster.get_runtime_context().gcs_address
    assert processes.cluster_address("ray://head:10001") == "ray://head:10001"
    assert processes.cluster_reachable(gcs)
    monkeypatch.setattr(processes.ray, "is_initialized", lambda: False)
    assert processes.cluster_reachable(gcs)
    assert not processes.cluster_reachable(f"127.0.0.1:{ephemeral_port()}")  # nobody there
    assert processes.cluster_reachable("auto")  # left to Ray
