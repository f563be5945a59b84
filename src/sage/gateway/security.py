"""The gateway's side of the security settings: key rules, the admin token, and which
engine URLs ``POST /admin/engines`` may register."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from sage.common.admin_token import admin_token_path, ensure_admin_token
from sage.common.config import GatewaySettings, TenantKey
from sage.common.errors import ConfigError
from sage.common.security import SecuritySettings
from sage.llm.openai_errors import OpenAIError

METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("fd00:ec2::254")})


def security_of(settings: GatewaySettings) -> SecuritySettings:
    if settings.security is not None:
        return settings.security
    from sage.common.config import get_settings

    return get_settings().security


def check_api_keys(keys: list[TenantKey], min_length: int = 1) -> None:
    """Refuse keys shorter than ``min_length`` (an empty key would let anyone in)."""
    for key in keys:
        if len(key.key.strip()) < min_length:
            raise ConfigError(
                f"API key of tenant {key.tenant!r} is too short: at least {min_length} "
                "characters (security.min_key_length)"
            )


def admin_token_for(security: SecuritySettings) -> str | None:
    """The admin token the gateway requires (created on first start), or ``None`` when
    ``security.admin_token`` is off."""
    if not security.admin_token:
        return None
    return ensure_admin_token(security.admin_token_file or admin_token_path())


def _forbidden_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip in METADATA_ADDRESSES


def check_engine_url(url: str, security: SecuritySettings) -> None:
    """400 for link-local and cloud-metadata engine URLs (by name or by what the name
    resolves to), unless ``security.allow_link_local_engines``. Blocking: DNS."""
    if security.allow_link_local_engines:
        return
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    addresses = {host}
    if host in METADATA_NAMES:
        addresses.add("169.254.169.254")
    else:
        try:
            addresses |= {str(a[4][0]) for a in socket.getaddrinfo(host, None)}
        except (OSError, UnicodeError):
            pass  # unresolvable: the health check reports it
    if any(_forbidden_address(a) for a in addresses):
        raise OpenAIError(
            400,
            f"refusing to register {url}: link-local and cloud-metadata addresses are not "
            "engines (set security.allow_link_local_engines to allow them)",
            param="url",
            code="engine_url_not_allowed",
        )
