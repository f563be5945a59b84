"""Security settings shared by every SAGE HTTP service (``SAGE_SECURITY__*``).

One model so the gateway, the engines, the job manager and the studio agree on which
browsers and host names may reach them, where the admin token lives and what a single
request may ask for.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class InputLimits(BaseModel):
    """What one request may ask for; past these, a 400 before any tokenizing.

    The defaults keep the gateway's memory and an engine's slot bounded on a laptop:
    2,048 embedding inputs answer in ~15 MB of JSON; 1,024 chat messages tokenize in
    milliseconds.
    """

    max_embedding_inputs: int = Field(2048, ge=1)
    max_chat_messages: int = Field(1024, ge=1)
    max_input_chars: int = Field(1_000_000, ge=1, description="all text of one request")
    request_timeout_s: float = Field(
        300.0, gt=0, description="llama.cpp engine: decoding stops after this (finish length)"
    )


class SecuritySettings(BaseModel):
    """Browser-safe defaults: loopback hosts and origins only, an admin token required."""

    allowed_hosts: list[str] = Field(
        default_factory=list,
        description='Host names accepted besides loopback and the bound address ("*": any)',
    )
    allowed_origins: list[str] = Field(
        default_factory=list,
        description='browser origins accepted besides loopback ones, e.g. "https://app.example"',
    )
    admin_token: bool = Field(True, description="require the admin token on /admin/* and jobs")
    admin_token_file: Path | None = Field(None, description="default: <home>/admin_token")
    allow_link_local_engines: bool = Field(
        False, description="let /admin/engines register link-local / cloud-metadata URLs"
    )
    min_key_length: int = Field(8, ge=1, description="shortest API key accepted")
    limits: InputLimits = Field(default_factory=InputLimits)
