"""The ``sage`` CLI ground: ``--version``, ``doctor``, and a light ``--help``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from sage import __version__
from sage.cli.main import app
from sage.common.config import get_settings

runner = CliRunner()


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """``get_settings`` is cached per process: re-read it around a test that sets env."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"sage {__version__}"


def test_doctor_reports_python_extras_models_and_ports(
        fresh_settings: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from sage.common.ports import ephemeral_port

    port = ephemeral_port()
    monkeypatch.setenv("SAGE_PORTS__JOB_MANAGER", str(port))
    result = runner.invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for row in ("python", "extra [ray]", "extra [dev]", "default chat model",
                "default embedding model", "port gateway", "port job manager",
                "ports benchmarks"):
        assert row in result.output
    assert f"{port} free" in result.output  # the doctor reads the overridden port


def test_help_does_not_import_heavy_libraries() -> None:
    code = ("import sys, sage.cli.main; "
            "print(sorted(m for m in ('ray', 'torch', 'fastapi', 'uvicorn', 'llama_cpp', "
            "'sentence_transformers', 'faiss') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
