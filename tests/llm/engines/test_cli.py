"""``sage engine start|list|logs|stop`` across invocations (a shared registry file)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sage.cli.main import app
from sage.common.config import get_settings
from sage.common.ports import ephemeral_port

runner = CliRunner()


@pytest.fixture
def sage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SAGE_HOME", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    runner.invoke(app, ["engine", "stop", "--all"])
    get_settings.cache_clear()


def test_start_list_logs_stop(sage_home: Path) -> None:
    port = ephemeral_port()
    result = runner.invoke(app, ["engine", "start", "--backend", "fake", "--port", str(port)])
    assert result.exit_code == 0, result.output
    engine_id = result.stdout.strip().splitlines()[-1]
    assert engine_id == "fake-0"
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200

    listed = runner.invoke(app, ["engine", "list", "--json"])
    engines = json.loads(listed.stdout)
    assert [(e["id"], e["status"], e["spec"]["port"]) for e in engines] == [
        ("fake-0", "healthy", port)
    ]
    assert (sage_home / "engines" / "registry.json").exists()
    assert "sage.llm.engines.fake" in runner.invoke(app, ["engine", "logs", engine_id]).stdout

    assert runner.invoke(app, ["engine", "stop", engine_id]).exit_code == 0
    assert json.loads(runner.invoke(app, ["engine", "list", "--json"]).stdout) == []
    missing = runner.invoke(app, ["engine", "stop", "nope"])
    assert missing.exit_code == 1


def test_bad_options_fail_clearly(sage_home: Path) -> None:
    result = runner.invoke(app, ["engine", "start", "--backend", "nope"])
    assert result.exit_code != 0
    result = runner.invoke(
        app, ["engine", "start", "--backend", "llama_cpp", "--model", "/no/such/model.gguf"]
    )
    assert result.exit_code == 1 and "never downloads" in result.output
