"""The exposure rule every SAGE server follows: loopback only, unless an API key guards it."""

from __future__ import annotations

import ipaddress

from sage.common.errors import ConfigError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_key_when_exposed(host: str, has_key: bool, what: str, how: str) -> None:
    """Refuse to bind ``what`` to a non-loopback ``host`` without an API key (``how``: the
    setting that provides one)."""
    if not has_key and not is_loopback(host):
        raise ConfigError(
            f"refusing to bind {what} to {host}: API keys are required when exposed beyond "
            f"127.0.0.1 ({how}, or bind 127.0.0.1)"
        )
