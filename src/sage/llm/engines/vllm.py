"""Launching vLLM as a managed engine: only the command line is ours (``vllm serve``)."""

from __future__ import annotations

import importlib.util
import shutil
import sys

from sage.common.errors import ConfigError
from sage.llm.engines.spec import EngineSpec


def vllm_available() -> bool:
    return shutil.which("vllm") is not None or importlib.util.find_spec("vllm") is not None


def vllm_argv(spec: EngineSpec, port: int) -> list[str]:
    """``vllm serve`` arguments for ``spec`` (pure: tested without vLLM installed)."""
    if spec.kind not in ("llm", "embedding"):
        raise ConfigError("a vLLM engine serves one kind: llm or embedding")
    if not spec.model and spec.model_path is None:
        raise ConfigError("vLLM needs a model: --model <hf-id or path>")
    model = str(spec.model_path) if spec.model_path else spec.model
    exe = shutil.which("vllm")
    argv = [exe] if exe else [sys.executable, "-m", "vllm.entrypoints.cli.main"]
    argv += ["serve", model, "--host", spec.host, "--port", str(port)]
    argv += ["--served-model-name", spec.model or model]
    argv += ["--max-num-seqs", str(spec.capacity)]
    if spec.kind == "embedding":
        argv += ["--task", "embed"]
    # The GPU is pinned through CUDA_VISIBLE_DEVICES (vllm_env); vLLM detects the rest.
    return argv + list(spec.extra_args)


def vllm_env(spec: EngineSpec) -> dict[str, str]:
    """Environment additions: the GPU for ``cuda:N``; the API key (kept out of ``ps``)."""
    env: dict[str, str] = {}
    if spec.device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = spec.device.split(":", 1)[1]
    if spec.api_key:
        env["VLLM_API_KEY"] = spec.api_key
    return env


def require_vllm() -> None:
    if not vllm_available():
        raise ConfigError(
            "the vllm backend needs vLLM installed (pip install vllm, on a CUDA machine); "
            "or run vLLM yourself and add it with --backend external --url http://HOST:PORT"
        )
