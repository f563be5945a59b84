"""The admin token: a random secret in a 0600 file that SAGE's own clients read.

Admin endpoints (``/admin/*`` of the gateway, the job manager's API) need it even on
loopback, so a web page the user visits cannot drive them: the page cannot read the file.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
from pathlib import Path

ADMIN_TOKEN_HEADER = "x-sage-admin-token"


def admin_token_path() -> Path:
    """Where the token lives: ``security.admin_token_file`` or ``<home>/admin_token``."""
    from sage.common.config import get_settings

    settings = get_settings()
    return settings.security.admin_token_file or settings.home / "admin_token"


def ensure_admin_token(path: Path | None = None) -> str:
    """The token, created (0600, atomically) when the file does not exist yet."""
    path = path or admin_token_path()
    existing = read_admin_token(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another server created it just now
        return read_admin_token(path) or token
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token


def read_admin_token(path: Path | None = None) -> str | None:
    """The token, or ``None`` when no server has created it yet (CLI, studio, benchmarks)."""
    with contextlib.suppress(OSError):
        token = (path or admin_token_path()).read_text(encoding="utf-8").strip()
        return token or None
    return None


def admin_headers(path: Path | None = None) -> dict[str, str]:
    """Headers that carry the admin token (empty when there is none)."""
    token = read_admin_token(path)
    return {ADMIN_TOKEN_HEADER: token} if token else {}


def token_matches(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; never true for an empty token."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())
