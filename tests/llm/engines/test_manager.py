"""The engine manager: start, health, restart after a kill, stop, persistence."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from sage.common.errors import ConfigError, EngineError
from sage.common.ports import ephemeral_port
from sage.llm.control_plane.engines import engine_state
from sage.llm.engine_manager import EngineManager, EngineStartError, pid_alive
from sage.llm.engines.spec import EngineSpec, EngineStatus
from tests.fixtures.engines import RealEngines, wait_until


def fake_spec(**options: object) -> EngineSpec:
    return EngineSpec(kind="both", backend="fake", port=ephemeral_port(), **options)  # type: ignore[arg-type]


def wait_dead(pid: int) -> None:
    wait_until(lambda: not pid_alive(pid), f"process {pid} to exit")


def test_start_health_stop(tmp_path: Path) -> None:
    with EngineManager(tmp_path) as manager:
        info = manager.start(fake_spec())
        assert info.status is EngineStatus.HEALTHY and info.healthy
        assert info.models == ["fake-llm", "fake-embedding"]
        assert httpx.get(info.url + "/health").status_code == 200
        assert manager.check_health() == {info.id: EngineStatus.HEALTHY}
        state = engine_state(info)
        assert state.kinds == frozenset({"llm", "embedding"}) and state.healthy
        assert "fake-llm" in state.models
        pid = info.pid
        assert pid is not None and pid_alive(pid)
        manager.stop(info.id)
        wait_dead(pid)
        assert manager.list() == []


def test_restart_after_kill(tmp_path: Path) -> None:
    with EngineManager(tmp_path) as manager:
        info = manager.start(fake_spec())
        old_pid = info.pid
        assert old_pid is not None
        os.kill(old_pid, signal.SIGKILL)
        wait_dead(old_pid)
        assert manager.check_health()[info.id] is EngineStatus.DEAD
        statuses = manager.watch_once(auto_restart=True)  # what the monitor loop runs
        assert statuses[info.id] is EngineStatus.HEALTHY
        assert info.restarts == 1 and info.pid != old_pid and info.healthy
        assert httpx.get(info.url + "/v1/models").status_code == 200  # same URL again
        new_pid = info.pid
    assert new_pid is not None
    wait_dead(new_pid)  # the context manager stopped it


def test_monitor_restarts_in_background(tmp_path: Path) -> None:
    with EngineManager(tmp_path, persist=False) as manager:
        info = manager.start(fake_spec())
        manager.start_monitor(interval_s=0.1)
        assert info.pid is not None
        os.kill(info.pid, signal.SIGKILL)
        wait_until(lambda: info.restarts >= 1 and info.healthy, "the monitor's restart", 60)


def test_registry_is_shared_across_managers(tmp_path: Path) -> None:
    """What makes ``sage engine list`` in another shell work."""
    with EngineManager(tmp_path) as first:
        info = first.start(fake_spec())
        second = EngineManager(tmp_path)
        listed = second.list(refresh=True)
        assert [e.id for e in listed] == [info.id]
        assert listed[0].url == info.url and listed[0].status is EngineStatus.HEALTHY
        assert "start:" in second.logs(info.id)
        second.stop(info.id)
        assert info.pid is not None
        wait_dead(info.pid)
        assert first.list() == [] or first.list()[0].status is not EngineStatus.HEALTHY


def test_failed_start_shows_log_tail(tmp_path: Path) -> None:
    with EngineManager(tmp_path, persist=False) as manager:
        spec = fake_spec(extra_args=["--no-such-option"])
        with pytest.raises(EngineStartError) as err:
            manager.start(spec)
        assert "no-such-option" in str(err.value)
        assert manager.list() == []


def test_unknown_model_is_a_config_error(tmp_path: Path) -> None:
    with (
        EngineManager(tmp_path, persist=False) as manager,
        pytest.raises(ConfigError, match="never downloads"),
    ):
        manager.start_engine(kind="llm", model="meta-llama/Llama-3-70B")


def test_external_engine_by_url(tmp_path: Path) -> None:
    with EngineManager(tmp_path, persist=False) as manager:
        backing = manager.start(fake_spec())
        external = manager.start(EngineSpec(kind="both", backend="external", url=backing.url + "/v1"))
        assert external.pid is None and external.url == backing.url
        assert external.model == "fake-llm" and "fake-embedding" in external.models
        assert manager.check_health()[external.id] is EngineStatus.HEALTHY
        manager.stop(backing.id)
        assert manager.check_health()[external.id] is EngineStatus.UNHEALTHY
        with pytest.raises(EngineError, match="no OpenAI-compatible engine"):
            manager.start(EngineSpec(backend="external", url=f"http://127.0.0.1:{ephemeral_port()}"))


def test_real_engines_fixture_shape(real_engines: RealEngines) -> None:
    """What the gateway and benchmarks rely on."""
    assert {e.kind for e in real_engines.engines} == {"llm", "embedding"}
    for info in real_engines.engines:
        assert info.healthy and info.url.startswith("http://127.0.0.1:")
        state = engine_state(info)
        assert state.models == frozenset({info.model}) and state.capacity >= 1


def test_embedding_engines_default_to_batching_capacity() -> None:
    from sage.llm.engines.spec import DEFAULT_EMBEDDING_CAPACITY

    assert EngineSpec(kind="embedding").capacity == DEFAULT_EMBEDDING_CAPACITY > 1
    assert EngineSpec(kind="embedding", capacity=1).capacity == 1  # what the user set stays
    assert EngineSpec(kind="llm").capacity == 1
    stored = EngineSpec(kind="embedding", capacity=3).model_dump(mode="json")
    assert EngineSpec.model_validate(stored).capacity == 3
