"""Browser-safe defaults for every SAGE HTTP service, as one pure ASGI middleware.

A web page the user visits can send requests to ``127.0.0.1`` (a ``text/plain`` POST
needs no CORS preflight) and, by DNS rebinding, even with its own host name. So every
server checks, before any route runs:

* ``Host``: on a loopback connection only loopback names (plus ``allowed_hosts``) -> 403,
  which defeats DNS rebinding;
* ``Origin``: only loopback origins, the server's own origin and ``allowed_origins``
  -> 403 for cross-site requests;
* ``Content-Type``: a request body must be JSON -> 415, so no preflight-free form or
  ``text/plain`` POST reaches a JSON endpoint.

Connections that arrive over the network need API keys anyway (see
:mod:`sage.llm.exposure`); there the Host check applies only when ``allowed_hosts`` is set.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sage.common.security import SecuritySettings

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
LOOPBACK_ORIGIN_REGEX = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

ErrorShape = Callable[[int, str, str], dict[str, Any]]


def openai_error(status: int, message: str, code: str) -> dict[str, Any]:
    """OpenAI's error JSON (gateway, engines)."""
    kind = "permission_error" if status == 403 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def detail_error(status: int, message: str, code: str) -> dict[str, Any]:
    """FastAPI's ``{"detail": ...}`` (job manager)."""
    return {"detail": message, "code": code}


def host_name(value: str) -> str:
    """``"[::1]:8888"`` -> ``"::1"``, ``"LocalHost:80"`` -> ``"localhost"``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def is_loopback_name(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HttpGuard:
    """ASGI middleware enforcing the Host / Origin / Content-Type rules above."""

    def __init__(
        self,
        app: Any,
        *,
        allowed_hosts: Sequence[str] = (),
        allowed_origins: Sequence[str] = (),
        error: ErrorShape = openai_error,
        json_exempt: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.any_host = "*" in allowed_hosts
        self.hosts = {host_name(h) for h in allowed_hosts if h != "*"}
        self.any_origin = "*" in allowed_origins
        self.origins = {o.rstrip("/").lower() for o in allowed_origins if o != "*"}
        self.error = error
        self.json_exempt = tuple(json_exempt)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self.check(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, message, code = problem
        body = json.dumps(self.error(status, message, code)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def check(self, scope: Any) -> tuple[int, str, str] | None:
        """``(status, message, code)`` of the first rule the request breaks, else None."""
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", ()):
            headers[key.decode("latin-1").lower()] = value.decode("latin-1")
        host = headers.get("host")
        if host is not None and not self.host_allowed(host_name(host), scope):
            return 403, f"host {host!r} is not allowed (set security.allowed_hosts)", "host_not_allowed"
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, host):
            return (
                403,
                f"cross-origin request from {origin!r} refused (set security.allowed_origins)",
                "origin_not_allowed",
            )
        if scope.get("method") in _BODY_METHODS and _has_body(headers):
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            json_media = media == "application/json" or media.endswith("+json")
            if not json_media and not scope.get("path", "").startswith(self.json_exempt or ("\0",)):
                return 415, "Content-Type must be application/json", "unsupported_media_type"
        return None

    def host_allowed(self, name: str, scope: Any) -> bool:
        if self.any_host or is_loopback_name(name) or name in self.hosts:
            return True
        server = scope.get("server") or ("", 0)
        if name == str(server[0]).lower():
            return True
        # Reached over the network: API keys guard it; narrow further only on request.
        return not is_loopback_name(str(server[0])) and not self.hosts

    def origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin.strip().rstrip("/").lower()
        if self.any_origin or origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False  # "null" (sandboxed frames, file://) and the like
        if is_loopback_name(parts.hostname):
            return True
        return host is not None and parts.netloc == host.strip().lower()  # same origin


def _has_body(headers: dict[str, str]) -> bool:
    if "transfer-encoding" in headers:
        return True
    try:
        return int(headers.get("content-length", "0") or 0) > 0
    except ValueError:
        return True


def install_http_guard(
    app: Any,
    settings: SecuritySettings | None = None,
    *,
    error: ErrorShape = openai_error,
    json_exempt: Sequence[str] = (),
) -> None:
    """Add :class:`HttpGuard` (outermost) and CORS for the allowed origins to a Starlette
    or FastAPI ``app``; ``settings`` default to the process-wide ``security`` settings."""
    from starlette.middleware.cors import CORSMiddleware

    if settings is None:
        from sage.common.config import get_settings

        settings = get_settings().security
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_origin_regex=LOOPBACK_ORIGIN_REGEX,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    app.add_middleware(
        HttpGuard,
        allowed_hosts=settings.allowed_hosts,
        allowed_origins=settings.allowed_origins,
        error=error,
        json_exempt=json_exempt,
    )
