"""SAGE's one settings model: ``SAGE_*`` environment variables over an optional
YAML/TOML file over defaults.

Nested fields use ``__``: ``SAGE_PORTS__GATEWAY=9000``, ``SAGE_GATEWAY__API_KEYS``.
The file is named by ``SAGE_CONFIG`` or passed to :func:`load_settings`.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sage.common.errors import ConfigError
from sage.common.ports import DEFAULT_HOST, SagePorts
from sage.common.security import SecuritySettings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport
    import tomli as tomllib


class TenantKey(BaseModel):
    """An API key and what it grants: the tenant it maps to and that tenant's limits."""

    key: str
    tenant: str = "default"
    priority: int = 0
    rate_limit_rps: float | None = None
    slo_ms: float | None = None
    admin: bool = False  # may change engines and the policy (/admin/*)


class GatewaySettings(BaseModel):
    host: str = DEFAULT_HOST
    api_keys: list[TenantKey] = Field(default_factory=list)
    max_body_bytes: int = 4 * 1024 * 1024
    policy: str = "hybrid"
    max_queue: int = 1024
    # Queued longer than this (seconds): 429 queue_timeout. None: wait however long.
    max_queue_wait_s: float | None = Field(None, gt=0)
    # How long requests wait for a down engine of their model (restarting) before 503.
    engine_down_grace_s: float = Field(10.0, ge=0)
    security: SecuritySettings | None = None  # None: the process-wide settings.security


class SageSettings(BaseSettings):
    """Everything configurable in SAGE, in one place."""

    model_config = SettingsConfigDict(
        env_prefix="SAGE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=lambda: Path.home() / ".sage")
    log_level: str = "INFO"
    ports: SagePorts = Field(default_factory=SagePorts)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    llm_model: str | None = None
    embedding_model: str | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over init (which carries the file's values), so a file can
        # be overridden per run without editing it.
        return env_settings, init_settings, file_secret_settings


def read_settings_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML or TOML settings file into a plain dict."""
    p = Path(path)
    if p.suffix not in {".toml", ".yaml", ".yml"}:
        raise ConfigError(f"settings file must be .yaml, .yml or .toml: {p}")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".toml":
        return tomllib.loads(text)
    return yaml.safe_load(text) or {}


def load_settings(path: str | os.PathLike[str] | None = None) -> SageSettings:
    """Build settings from ``path`` (or ``$SAGE_CONFIG``), then the environment."""
    file = path or os.environ.get("SAGE_CONFIG")
    values = read_settings_file(file) if file else {}
    try:
        return SageSettings(**values)
    except ValidationError as exc:
        raise ConfigError(settings_error(exc, file)) from None


def settings_error(exc: ValidationError, file: str | os.PathLike[str] | None) -> str:
    """One line per bad setting, named as the user wrote it (no pydantic internals)."""
    lines = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        env = "SAGE_" + "__".join(str(p) for p in err.get("loc", ()) if not isinstance(p, int))
        lines.append(f"{where} ({env.upper()}): {err.get('msg', 'invalid value')}, "
                     f"got {err.get('input')!r}"[:300])
    source = f" (file {file} or environment)" if file else ""
    return "invalid settings" + source + ": " + "; ".join(lines)


@lru_cache(maxsize=1)
def get_settings() -> SageSettings:
    """Process-wide settings, read once."""
    return load_settings()
