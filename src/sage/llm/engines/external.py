"""Engines SAGE does not run: anything speaking OpenAI HTTP at a URL (vLLM, a llama.cpp
server, TEI, a cloud API with a key). No process: a health check, the models it lists,
and the ``--engine-url`` text form ``URL[,kind=..][,capacity=..][,model=..]...``."""

from __future__ import annotations

import os
from collections.abc import Sequence

import httpx

from sage.common.errors import ConfigError
from sage.llm.engines.spec import EngineSpec
from sage.llm.engines.urls import auth_headers, normalize_url

OPENAI_PROBE_PATHS = ("/v1/models", "/health")


def probe(
    url: str,
    api_key: str | None = None,
    timeout: float = 2.0,
    paths: Sequence[str] = OPENAI_PROBE_PATHS,
) -> bool:
    """True when the engine at ``url`` answers one of ``paths`` with 200.

    ``/v1/models`` first: every OpenAI-compatible server has it, ``/health`` only some.
    """
    base = normalize_url(url)
    headers = auth_headers(api_key)
    for path in paths:
        try:
            if httpx.get(base + path, headers=headers, timeout=timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            continue
    return False


def served_models(
    url: str, api_key: str | None = None, timeout: float = 5.0, kind: str = "both"
) -> list[str]:
    """Model ids the engine lists in ``/v1/models`` (``[]`` when it cannot be reached).

    For ``kind`` ``llm`` or ``embedding``, models whose card names other ``kinds`` (as
    SAGE's engines and gateway do) are left out: an LLM engine must not offer its
    embedding model, which it would then answer 404 for.
    """
    try:
        response = httpx.get(
            normalize_url(url) + "/v1/models", headers=auth_headers(api_key), timeout=timeout
        )
        response.raise_for_status()
        cards = [m for m in response.json().get("data", []) if "id" in m]
        return [str(m["id"]) for m in cards if _serves(m, kind)]
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError):
        return []


def _serves(card: dict[str, object], kind: str) -> bool:
    kinds = card.get("kinds")
    return kind == "both" or not isinstance(kinds, list) or kind in kinds


def with_served_models(spec: EngineSpec) -> EngineSpec:
    """``spec`` naming the models its engine lists (of its kind), when it names none."""
    if spec.models or not spec.url:
        return spec
    models = served_models(spec.url, spec.api_key, kind=spec.kind)
    return spec.model_copy(update={"model": models[0], "aliases": models[1:]}) if models else spec


def parse_engine_url(text: str) -> EngineSpec:
    """An external engine from ``URL[,kind=llm|embedding|both][,capacity=N][,max_batch=N]
    [,model=NAME]...[,device_group=NAME][,api_key_env=VAR]`` (the key is read from ``$VAR``,
    never written out; engines with the same ``device_group`` share hardware).

    Raises ``ValueError`` with a message fit for the command line.
    """
    url, *parts = [p.strip() for p in text.split(",") if p.strip()] or [""]
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"engine URL must start with http:// or https://: {url!r}")
    fields: dict[str, object] = {"backend": "external", "url": normalize_url(url)}
    models: list[str] = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not value:
            raise ConfigError(f"expected key=value in engine spec, got {part!r}")
        if key == "kind":
            if value not in ("llm", "embedding", "both"):
                raise ConfigError(f"kind must be llm, embedding or both, not {value!r}")
            fields["kind"] = value
        elif key in ("capacity", "max_batch"):
            if not value.isdigit() or int(value) < 1:
                raise ConfigError(f"{key} must be a positive integer, not {value!r}")
            fields[key] = int(value)
        elif key == "model":
            models.append(value)
        elif key == "device_group":
            fields["device_group"] = value
        elif key == "api_key_env":
            if value not in os.environ:
                raise ConfigError(f"api_key_env={value}: the environment variable is not set")
            fields["api_key"] = os.environ[value]
        else:
            raise ConfigError(f"unknown engine spec key {key!r}")
    if models:
        fields["model"], fields["aliases"] = models[0], models[1:]
    return EngineSpec.model_validate(fields)


def engine_url_arg(spec: EngineSpec, api_key_env: str | None = None) -> str:
    """The ``--engine-url`` text of ``spec`` (its key only as the name ``api_key_env``)."""
    parts = [spec.url or "", f"kind={spec.kind}", f"capacity={spec.capacity}"]
    parts.append(f"max_batch={spec.max_batch}")
    parts += [f"model={m}" for m in ([spec.model] if spec.model else []) + spec.aliases]
    if spec.device_group:
        parts.append(f"device_group={spec.device_group}")
    if api_key_env:
        parts.append(f"api_key_env={api_key_env}")
    return ",".join(parts)
