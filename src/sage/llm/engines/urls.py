"""URLs and headers of OpenAI-compatible engines, shared by the manager, the external
engine probe and the control plane (which sits above ``sage.llm.engines``)."""

from __future__ import annotations


def normalize_url(url: str) -> str:
    """``http://host:port`` without a trailing slash or ``/v1``."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The header an OpenAI-compatible engine that wants a key expects."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}
