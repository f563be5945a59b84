"""From an :class:`EngineSpec` to a command line, through its backend in
:data:`~sage.llm.engines.backends.ENGINE_BACKENDS`: defaults filled in, the bind of a
Ray-placed engine, the argv. Pure apart from looking up installed model files."""

from __future__ import annotations

import secrets

from sage.common.errors import ConfigError
from sage.llm.engines.backends import ENGINE_BACKENDS
from sage.llm.engines.spec import DEFAULT_BACKEND, EngineSpec
from sage.llm.exposure import is_loopback, require_key_when_exposed


def default_backend(kind: str) -> str:
    return DEFAULT_BACKEND.get(kind, "fake")


def resolve_spec(spec: EngineSpec) -> EngineSpec:
    """``spec`` with its backend's defaults (the embedded model, name and path) filled in;
    ConfigError for an unknown backend or a spec it cannot run."""
    backend = ENGINE_BACKENDS.get(spec.backend)
    if backend.launcher == "process" and spec.placement is None:
        # Ray-placed engines get a generated key when they bind beyond loopback
        # (EngineManager), so only local ones are refused here.
        require_key_when_exposed(spec.host, bool(spec.api_key), "an engine", "pass --api-key")
    if backend.serves and spec.kind != backend.serves:
        raise ConfigError(
            f"the {spec.backend} backend serves {backend.serves} engines, not {spec.kind}"
        )
    return spec.model_copy(update=backend.resolve(spec))


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
    command = ENGINE_BACKENDS.get(spec.backend).command
    if command is None:
        raise ConfigError(f"the {spec.backend} backend has no process to start")
    return command(spec, port, parent_pid)
