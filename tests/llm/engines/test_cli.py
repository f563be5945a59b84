"""``sage engine start|list|logs|stop`` across invocations (a shared registry file),
with the real embedded engine."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sage.cli.main import app
from sage.common.config import get_settings
from sage.common.models import DEFAULT_LLM_NAME
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
    result = runner.invoke(app, ["engine", "start", "--port", str(port)])  # embedded SmolLM2
    assert result.exit_code == 0, result.output
    engine_id = result.stdout.strip().splitlines()[-1]
    assert engine_id == "llm-0"
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200

    listed = runner.invoke(app, ["engine", "list", "--json"])
    engines = json.loads(listed.stdout)
    assert [(e["id"], e["status"], e["spec"]["port"]) for e in engines] == [
        ("llm-0", "healthy", port)
    ]
    spec = engines[0]["spec"]
    assert (spec["kind"], spec["device"], spec["capacity"]) == ("llm", "cpu", 1)
    assert (sage_home / "engines" / "registry.json").exists()
    assert "sage.llm.engines.llama" in runner.invoke(app, ["engine", "logs", engine_id]).stdout

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


def test_external_engine_key_stays_out_of_listings(sage_home: Path) -> None:
    port = ephemeral_port()
    keyed = runner.invoke(app, ["engine", "start", "--port", str(port), "--api-key", "sk-hidden"])
    assert keyed.exit_code == 0, keyed.output
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(url + "/v1/models").status_code == 401
    args = ["engine", "start", "--backend", "external", "--url", url]
    result = runner.invoke(app, [*args, "--api-key", "sk-hidden"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == "external-0"
    listed = runner.invoke(app, ["engine", "list", "--json"]).stdout
    external = next(e for e in json.loads(listed) if e["id"] == "external-0")
    assert external["spec"]["model"] == DEFAULT_LLM_NAME  # read from /v1/models with the key
    assert "sk-hidden" not in listed
    registry = sage_home / "engines" / "registry.json"
    assert registry.stat().st_mode & 0o077 == 0  # owner-only: the key is stored there
