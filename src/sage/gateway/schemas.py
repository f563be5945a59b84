"""Bodies of the gateway's own admin endpoints. OpenAI's request bodies live in
:mod:`sage.llm.protocol`, shared with the engines."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sage.llm.control_plane.engines import normalize_url
from sage.llm.engines.spec import EngineSpec


class EngineRegistration(BaseModel):
    """``POST /admin/engines``: an external OpenAI-compatible engine by URL."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    kind: Literal["llm", "embedding", "both"] = "llm"
    models: list[str] = Field(default_factory=list)
    model: str | None = None
    id: str | None = Field(None, min_length=1)
    capacity: int | None = Field(None, ge=1, le=1024, description="default: by kind")
    max_batch: int = Field(64, ge=1, le=4096)
    api_key: str | None = Field(None, description="sent to the engine, never shown again")
    device_group: str = Field(
        "", max_length=200, description="engines with the same group share hardware"
    )

    def to_spec(self) -> EngineSpec:
        names = ([self.model] if self.model else []) + self.models
        given = {"capacity": self.capacity} if self.capacity is not None else {}
        return EngineSpec(
            kind=self.kind,
            backend="external",
            url=normalize_url(self.url),
            model=names[0] if names else "",
            aliases=names[1:],
            max_batch=self.max_batch,
            api_key=self.api_key,
            device_group=self.device_group,
            **given,
        )


class PolicyChange(BaseModel):
    """``POST /admin/policy``: switch the scheduling policy by name.

    ``options`` are merged over the ones the policy had; ``reset`` drops those first.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    reset: bool = False
