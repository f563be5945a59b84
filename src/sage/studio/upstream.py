"""The gateway and the job manager as the studio sees them: async httpx clients whose
failures become one JSON error (``503 {"detail", "service", "down": true}``), so a
stopped service shows as down in the page instead of breaking it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.responses import JSONResponse

from sage.common.ports import CLIENT_POOL_IDLE_S


class UpstreamError(Exception):
    """A call to the gateway or job manager failed; ``status`` is 503 when it is down."""

    def __init__(self, service: str, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.service = service
        self.status = status

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"detail": str(self), "service": self.service, "down": self.status == 503},
            status_code=self.status,
        )


class Upstream:
    """One service (``name``) at ``url``, with its credentials in ``headers``."""

    def __init__(self, name: str, url: str, headers: dict[str, str], timeout: float,
                 token: Callable[[], dict[str, str]] | None = None) -> None:
        self.name = name
        self.token = token  # the studio's admin-token header, read per call (file may appear)
        self.url = url.rstrip("/")
        self.client = httpx.AsyncClient(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, read=None),  # streams may idle between tokens
            limits=httpx.Limits(keepalive_expiry=CLIENT_POOL_IDLE_S),
        )
        self.timeout = timeout

    async def request(self, method: str, path: str, *, studio_token: bool = True,
                      **kwargs: Any) -> httpx.Response:
        """``studio_token=False`` for writes: only the caller's own token goes along."""
        kwargs.setdefault("timeout", self.timeout)
        if studio_token and self.token is not None:
            kwargs["headers"] = {**self.token(), **(kwargs.get("headers") or {})}
        try:
            return await self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise UpstreamError(
                self.name, f"the {self.name} is not reachable at {self.url} "
                f"({type(exc).__name__})"
            ) from None

    async def json(self, method: str, path: str, *, studio_token: bool = True,
                   **kwargs: Any) -> Any:
        """The JSON answer; a 4xx/5xx keeps its status and the upstream's message."""
        response = await self.request(method, path, studio_token=studio_token, **kwargs)
        try:
            data = response.json()
        except ValueError:
            data = {"detail": response.text}
        if response.status_code >= 400:
            raise UpstreamError(self.name, _message(data), status=response.status_code)
        return data

    async def relay(self, method: str, path: str, **kwargs: Any) -> JSONResponse:
        """The upstream's JSON answer as the studio's own, or its error as JSON."""
        try:
            return JSONResponse(await self.json(method, path, **kwargs))
        except UpstreamError as exc:
            return exc.response()

    async def alive(self) -> bool:
        try:
            response = await self.request("GET", "/health")
        except UpstreamError:
            return False
        return response.status_code < 500

    async def aclose(self) -> None:
        await self.client.aclose()


def _message(data: Any) -> str:
    """The text of a FastAPI ``detail`` or an OpenAI ``error.message``."""
    if isinstance(data, dict):
        if isinstance(data.get("error"), dict):
            return str(data["error"].get("message", data["error"]))
        if "detail" in data:
            return str(data["detail"])
    return str(data)
