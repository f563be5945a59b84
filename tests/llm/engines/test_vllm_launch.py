"""Launch commands: the vLLM backend (not installed here), built-in engines, exposure."""

from __future__ import annotations

import pytest

from sage.common.errors import ConfigError
from sage.llm.engines import vllm
from sage.llm.engines.launch import engine_command, resolve_spec
from sage.llm.engines.spec import EngineSpec


def test_argv_for_an_llm_on_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm.shutil, "which", lambda _: "/usr/bin/vllm")
    spec = EngineSpec(
        backend="vllm", model="Qwen/Qwen2.5-7B-Instruct", device="cuda:1", capacity=32,
        api_key="k", extra_args=["--max-model-len", "8192"],
    )  # fmt: skip
    argv, env = engine_command(spec, 8001)
    assert argv == [
        "/usr/bin/vllm", "serve", "Qwen/Qwen2.5-7B-Instruct",
        "--host", "127.0.0.1", "--port", "8001",
        "--served-model-name", "Qwen/Qwen2.5-7B-Instruct",
        "--max-num-seqs", "32",
        "--max-model-len", "8192",
    ]  # fmt: skip
    assert env == {"CUDA_VISIBLE_DEVICES": "1", "VLLM_API_KEY": "k"}
    assert "k" not in argv


def test_argv_for_embeddings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm.shutil, "which", lambda _: None)
    argv = vllm.vllm_argv(EngineSpec(kind="embedding", backend="vllm", model="BAAI/bge-m3"), 8090)
    assert argv[1:4] == ["-m", "vllm.entrypoints.cli.main", "serve"]
    assert argv[-2:] == ["--task", "embed"]


def test_missing_vllm_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vllm, "vllm_available", lambda: False)
    with pytest.raises(ConfigError, match="needs vLLM installed"):
        resolve_spec(EngineSpec(backend="vllm", model="m"))


def test_builtin_argv_keeps_the_api_key_off_the_command_line() -> None:
    spec = resolve_spec(EngineSpec(backend="fake", api_key="secret", device="cpu"))
    argv, env = engine_command(spec, 9000, parent_pid=42)
    assert "secret" not in argv and env["SAGE_ENGINE_API_KEY"] == "secret"
    assert argv[argv.index("--parent-pid") + 1] == "42"
    with pytest.raises(ValueError, match="device"):
        EngineSpec(device="gpu")


def test_cli_dry_run_prints_the_vllm_serve_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """``sage engine start --backend vllm --model M`` builds this command (vLLM absent)."""
    from typer.testing import CliRunner

    from sage.cli.main import app

    monkeypatch.setattr(vllm, "vllm_available", lambda: True)
    monkeypatch.setattr(vllm.shutil, "which", lambda _: "/usr/bin/vllm")
    args = ["engine", "start", "--backend", "vllm", "--model", "Qwen/Qwen2.5-7B-Instruct"]
    args += ["--port", "8001", "--device", "cuda:0", "--capacity", "16", "--api-key", "sk-x"]
    result = CliRunner().invoke(app, [*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    env_line, command = result.stdout.strip().splitlines()
    assert env_line == "# environment: CUDA_VISIBLE_DEVICES VLLM_API_KEY"
    assert command == (
        "/usr/bin/vllm serve Qwen/Qwen2.5-7B-Instruct --host 127.0.0.1 --port 8001 "
        "--served-model-name Qwen/Qwen2.5-7B-Instruct --max-num-seqs 16"
    )
    assert "sk-x" not in result.stdout


def test_engines_bound_beyond_loopback_need_a_key() -> None:
    with pytest.raises(ConfigError, match="API keys are required"):
        resolve_spec(EngineSpec(backend="fake", host="0.0.0.0"))
    assert resolve_spec(EngineSpec(backend="fake", host="0.0.0.0", api_key="k")).host == "0.0.0.0"
    assert resolve_spec(EngineSpec(backend="fake", host="localhost")).host == "localhost"
