"""Replica specs: N copies of one engine, cores split between them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage.cli.main import app
from sage.common.config import get_settings
from sage.llm.engines.replicas import replica_specs
from sage.llm.engines.spec import EngineSpec

runner = CliRunner()


def test_replicas_split_the_cores() -> None:
    specs = replica_specs(EngineSpec(kind="llm", capacity=2), 2, cores=2)
    assert len(specs) == 2 and all(s.capacity == 2 for s in specs)
    assert all(s.extra_args == ["--n-threads", "1"] for s in specs)


def test_one_replica_is_the_spec_and_own_threads_are_kept() -> None:
    spec = EngineSpec(kind="llm", extra_args=["--n-threads", "3"])
    assert replica_specs(spec, 1) == [spec]
    assert replica_specs(spec, 2)[1].extra_args == ["--n-threads", "3"]


def test_fixed_port_or_zero_replicas_refused() -> None:
    with pytest.raises(ValueError):
        replica_specs(EngineSpec(kind="llm", port=8001), 2)
    with pytest.raises(ValueError):
        replica_specs(EngineSpec(kind="llm"), 0)


def test_engine_start_replicas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGE_HOME", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["engine", "start", "--backend", "fake", "--replicas", "2"])
        assert result.exit_code == 0, result.output
        ids = result.stdout.strip().splitlines()[-2:]
        listed = json.loads(runner.invoke(app, ["engine", "list", "--json"]).stdout)
        assert sorted(e["id"] for e in listed) == sorted(ids) and len(set(ids)) == 2
        refused = runner.invoke(app, ["engine", "start", "--replicas", "2", "--port", "8001"])
        assert refused.exit_code != 0
    finally:
        runner.invoke(app, ["engine", "stop", "--all"])
        get_settings.cache_clear()
