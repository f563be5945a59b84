"""What the studio talks to, and with which credentials."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, Field

from sage.common.admin_token import ADMIN_TOKEN_HEADER, admin_headers
from sage.common.ports import DEFAULT_HOST, SagePorts


def _local(port: int) -> str:
    return f"http://{DEFAULT_HOST}:{port}"


class StudioConfig(BaseModel):
    """``sage studio start`` options; the keys default to SAGE's own environment."""

    gateway_url: str = Field(default_factory=lambda: _local(SagePorts().gateway))
    jobmanager_url: str = Field(default_factory=lambda: _local(SagePorts().job_manager))
    results_dir: Path = Path("results")
    gateway_api_key: str | None = Field(
        default_factory=lambda: os.environ.get("SAGE_STUDIO_GATEWAY_KEY"))
    jobmanager_api_key: str | None = Field(
        default_factory=lambda: os.environ.get("SAGE_JOBMANAGER_API_KEY"))
    # The admin token file (default: the one SAGE's servers create). The studio reads
    # with it; writes (policy switch, job stop/delete) need the token the user types.
    admin_token_file: Path | None = None
    slo_ms: float = 1000.0  # SLO attainment: share of requests answered within this
    sample_interval_s: float = 1.0
    upstream_timeout_s: float = 2.0

    def token_headers(self, token: str | None = None) -> dict[str, str]:
        """The admin token header: ``token`` (the user's) or else the studio's own."""
        if token:
            return {ADMIN_TOKEN_HEADER: token}
        return admin_headers(self.admin_token_file)

    def gateway_headers(self) -> dict[str, str]:
        key = self.gateway_api_key
        return {"Authorization": f"Bearer {key}"} if key else {}

    def jobmanager_headers(self) -> dict[str, str]:
        key = self.jobmanager_api_key
        return {"Authorization": f"Bearer {key}"} if key else {}
