"""Engine backends and launchers are registered objects: the spec's backend picks its
defaults, its command and the launcher the manager starts it with."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from sage.common.errors import ConfigError
from sage.llm.engine_manager import EngineManager
from sage.llm.engines.backends import ENGINE_BACKENDS, EngineBackend, server_command
from sage.llm.engines.launch import engine_command, resolve_spec
from sage.llm.engines.spec import EngineSpec, RayPlacement
from sage.llm.launchers import LAUNCHERS, ExternalLauncher, ProcessLauncher, launcher_name


def test_an_unknown_backend_names_the_registered_ones() -> None:
    with pytest.raises(ConfigError, match="unknown engine backend 'tgi'; available: external"):
        resolve_spec(EngineSpec(backend="tgi"))


def test_a_backend_serving_one_kind_refuses_another() -> None:
    with pytest.raises(ConfigError, match="serves embedding engines, not llm"):
        resolve_spec(EngineSpec(kind="llm", backend="sentence_transformers"))


def test_launchers_follow_the_backend_and_the_placement() -> None:
    assert launcher_name(EngineSpec(backend="fake")) == "process"
    assert launcher_name(EngineSpec(backend="external", url="http://x")) == "external"
    assert launcher_name(EngineSpec(backend="fake", placement=RayPlacement())) == "ray"
    assert set(LAUNCHERS) == {"process", "ray", "external"}
    manager = EngineManager(persist=False, home="/nonexistent")
    assert isinstance(manager.launcher(EngineSpec(backend="fake")), ProcessLauncher)
    assert isinstance(manager.launcher(EngineSpec(backend="external")), ExternalLauncher)


def test_a_plugin_backend_runs_through_the_same_path(tmp_path: Path) -> None:
    ENGINE_BACKENDS.register(
        "test_echo",
        EngineBackend("llm", command=server_command("my_pkg.echo_server")),
    )
    try:
        spec = resolve_spec(EngineSpec(backend="test_echo", model="echo"))
        argv, env = engine_command(spec, 9123, parent_pid=1)
        assert argv[:3] == [sys.executable, "-m", "my_pkg.echo_server"]
        assert "--parent-pid" in argv and env["HF_HUB_OFFLINE"] == "1"
    finally:
        ENGINE_BACKENDS.unregister("test_echo")
