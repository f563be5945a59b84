"""One engine as the control plane sees it: its URL, live state and the names it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from sage.common.errors import ConfigError
from sage.llm.control_plane.types import EngineState
from sage.llm.engines.urls import auth_headers, normalize_url

if TYPE_CHECKING:
    from sage.llm.engines.spec import EngineInfo

__all__ = [
    "ENGINE_KINDS",
    "EngineEndpoint",
    "auth_headers",
    "engine_state",
    "model_aliases",
    "normalize_url",
    "parse_kinds",
]

ENGINE_KINDS = ("llm", "embedding")


def parse_kinds(
    kind: str | frozenset[str] | set[str] | list[str] | tuple[str, ...],
) -> frozenset[str]:
    """``"llm"``, ``"embedding"``, ``"both"`` (or an iterable of those) as a set."""
    if isinstance(kind, str):
        kinds = set(ENGINE_KINDS) if kind in {"both", "any", "llm+embedding"} else {kind}
    else:
        kinds = set(kind)
    unknown = kinds - set(ENGINE_KINDS)
    if unknown or not kinds:
        raise ConfigError(f"engine kind must be llm, embedding or both, not {kind!r}")
    return frozenset(kinds)


def engine_state(info: EngineInfo) -> EngineState:
    """The scheduling policies' view of an engine the manager runs (or knows by URL)."""
    return EngineState(
        id=info.id,
        kinds=parse_kinds(info.spec.kind),
        models=frozenset(info.models),
        capacity=info.spec.capacity,
        max_batch=info.spec.max_batch,
        healthy=info.healthy,
        device_group=info.spec.device_group,
    )


def model_aliases(model: str) -> set[str]:
    """Names a client may use for ``model``: as given, file name and stem for paths."""
    names = {model}
    if "/" in model or model.endswith(".gguf"):
        path = PurePath(model)
        names |= {path.name, path.stem}
    return names


@dataclass(eq=False)
class EngineEndpoint:
    """One engine: its URL plus the live :class:`EngineState` policies see."""

    url: str
    state: EngineState
    info: EngineInfo | None = field(default=None, repr=False)  # the manager's record, if any
    api_key: str | None = field(default=None, repr=False)  # sent as ``Authorization: Bearer``
    failures: int = 0
    restarts: int = 0  # times it came back after being down (a restart or a recovery)
    headers: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.headers = {"content-type": "application/json", **auth_headers(self.api_key)}

    @property
    def id(self) -> str:
        return self.state.id

    def describe(self) -> dict[str, Any]:
        s = self.state
        return {
            "id": s.id,
            "url": self.url,
            "kinds": sorted(s.kinds),
            "models": sorted(s.models),
            "capacity": s.capacity,
            "max_batch": s.max_batch,
            "in_flight": s.in_flight,
            "healthy": s.healthy,
            "failures": self.failures,
            "restarts": self.restarts,
            "device_group": s.device_group,
            # declared or learned from replies (0: not known yet)
            "decode_tokens_per_s": s.decode_tokens_per_s,
            "prefill_tokens_per_s": s.prefill_tokens_per_s,
            "embed_items_per_s": s.embed_items_per_s,
        }
