"""Engines SAGE does not run: anything speaking OpenAI HTTP at a URL (vLLM, a llama.cpp
server, TEI, a cloud API). No process, just a health check."""

from __future__ import annotations

import httpx

from sage.llm.control_plane.engines import normalize_url


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def probe(url: str, api_key: str | None = None, timeout: float = 2.0) -> bool:
    """True when the engine at ``url`` answers ``/health`` or ``/v1/models`` with 200.

    ``/v1/models`` first: every OpenAI-compatible server has it, ``/health`` only some.
    """
    base = normalize_url(url)
    headers = auth_headers(api_key)
    for path in ("/v1/models", "/health"):
        try:
            if httpx.get(base + path, headers=headers, timeout=timeout).status_code == 200:
                return True
        except httpx.HTTPError:
            continue
    return False


def served_models(url: str, api_key: str | None = None, timeout: float = 5.0) -> list[str]:
    """Model ids the engine lists in ``/v1/models`` (``[]`` when it cannot be reached)."""
    try:
        response = httpx.get(
            normalize_url(url) + "/v1/models", headers=auth_headers(api_key), timeout=timeout
        )
        response.raise_for_status()
        return [str(m["id"]) for m in response.json().get("data", []) if "id" in m]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return []
