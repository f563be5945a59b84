"""Who is calling: API key -> tenant, plus the ``X-SAGE-*`` scheduling headers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.datastructures import Headers

from sage.common.config import TenantKey
from sage.gateway.errors import GatewayError

TENANT_HEADER = "x-sage-tenant"
PRIORITY_HEADER = "x-sage-priority"
DEADLINE_HEADERS = ("x-sage-deadline-ms", "x-sage-slo-ms")


@dataclass(frozen=True)
class CallerContext:
    """Scheduling attributes of one request."""

    tenant: str = "default"
    priority: int = 0
    deadline_s: float | None = None  # relative to arrival


class KeyRing:
    """The configured API keys; empty means authentication is off."""

    def __init__(self, keys: list[TenantKey]) -> None:
        self._keys = {k.key: k for k in keys}

    @property
    def enabled(self) -> bool:
        return bool(self._keys)

    def authenticate(self, headers: Headers) -> TenantKey | None:
        """The caller's key record; raises 401 when keys are on and it is missing/wrong."""
        if not self._keys:
            return None
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else headers.get("x-api-key", "")
        if token:
            for key, record in self._keys.items():
                if hmac.compare_digest(key.encode(), token.encode()):
                    return record
        raise GatewayError(
            401,
            "a valid API key is required (Authorization: Bearer <key>)"
            if not token
            else "invalid API key",
            code="invalid_api_key",
        )


def caller_context(headers: Headers, key: TenantKey | None) -> CallerContext:
    """Tenant from the key (or ``X-SAGE-Tenant`` when keys are off), priority and SLO."""
    tenant = key.tenant if key else (headers.get(TENANT_HEADER) or "default")
    priority = key.priority if key else 0
    raw = headers.get(PRIORITY_HEADER)
    if raw is not None:
        try:
            priority = int(raw)
        except ValueError:
            raise GatewayError(
                400, f"{PRIORITY_HEADER} must be an integer", param=PRIORITY_HEADER
            ) from None
        if key is not None:
            priority = min(priority, key.priority)  # a key cannot raise its own priority
    deadline_ms = key.slo_ms if key else None
    for name in DEADLINE_HEADERS:
        raw = headers.get(name)
        if raw is not None:
            try:
                deadline_ms = float(raw)
            except ValueError:
                raise GatewayError(
                    400, f"{name} must be a number of milliseconds", param=name
                ) from None
            if not deadline_ms > 0:
                raise GatewayError(400, f"{name} must be positive", param=name)
            break
    return CallerContext(tenant, priority, None if deadline_ms is None else deadline_ms / 1000)
