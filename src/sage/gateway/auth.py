"""Who is calling: API key -> tenant, plus the ``X-SAGE-*`` scheduling headers."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from starlette.datastructures import Headers

from sage.common.admin_token import ADMIN_TOKEN_HEADER, token_matches
from sage.common.config import TenantKey
from sage.llm.openai_errors import OpenAIError

N = TypeVar("N", int, float)

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
    """The configured API keys (empty: authentication is off) and the admin token
    (``None``: admin endpoints open when keys are off, as configured)."""

    def __init__(self, keys: list[TenantKey], admin_token: str | None = None) -> None:
        self._keys = {k.key: k for k in keys}
        self.admin_token = admin_token

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
        raise OpenAIError(
            401,
            "a valid API key is required (Authorization: Bearer <key>)"
            if not token
            else "invalid API key",
            code="invalid_api_key",
        )


    def allows(self, headers: Headers) -> bool:
        """Whether the caller may see details (``/health``, ``/metrics``): always when
        keys are off, else with any valid key or the admin token."""
        if not self._keys or self.has_admin_token(headers):
            return True
        try:
            return self.authenticate(headers) is not None
        except OpenAIError:
            return False

    def has_admin_token(self, headers: Headers) -> bool:
        auth = headers.get("authorization", "")
        bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        given = headers.get(ADMIN_TOKEN_HEADER) or bearer
        return token_matches(given, self.admin_token)

    def authorize_admin(self, headers: Headers) -> None:
        """Let the caller use ``/admin/*``: the admin token, or an admin key when keys are
        on (a tenant must not swap the policy or the engines under the other tenants).
        Without keys and with the token disabled by configuration, anyone."""
        if self.has_admin_token(headers):
            return
        if not self._keys and self.admin_token is not None:
            raise OpenAIError(
                401,
                "the admin API needs the admin token: send the contents of the admin token "
                f"file (security.admin_token_file) in the {ADMIN_TOKEN_HEADER} header",
                code="admin_token_required",
            )
        record = self.authenticate(headers)
        if record is not None and not record.admin:
            raise OpenAIError(
                403,
                "this API key may not use the admin API",
                type="permission_error",
                code="admin_key_required",
            )


def _header_number(headers: Headers, name: str, parse: Callable[[str], N], what: str) -> N | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return parse(raw)
    except ValueError:
        raise OpenAIError(
            400, f"{name} must be {what}", param=name, code="invalid_header"
        ) from None


def caller_context(headers: Headers, key: TenantKey | None) -> CallerContext:
    """Tenant from the key (or ``X-SAGE-Tenant`` when keys are off), priority and SLO."""
    tenant = key.tenant if key else (headers.get(TENANT_HEADER) or "default")
    priority = key.priority if key else 0
    asked = _header_number(headers, PRIORITY_HEADER, int, "an integer")
    if asked is not None:
        priority = asked if key is None else min(asked, key.priority)  # keys cannot raise it
    deadline_ms = key.slo_ms if key else None
    for name in DEADLINE_HEADERS:
        value = _header_number(headers, name, float, "a number of milliseconds")
        if value is not None:
            if not value > 0:
                raise OpenAIError(
                    400, f"{name} must be positive", param=name, code="invalid_header"
                )
            deadline_ms = value
            break
    return CallerContext(tenant, priority, None if deadline_ms is None else deadline_ms / 1000)
