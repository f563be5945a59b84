"""The dispatcher's registry of engines: where each one is and what it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from sage.llm.control_plane.types import EngineState

if TYPE_CHECKING:
    from sage.llm.engines.spec import EngineInfo

ENGINE_KINDS = ("llm", "embedding")


def normalize_url(url: str) -> str:
    """``http://host:port`` without a trailing slash or ``/v1``."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def auth_headers(api_key: str | None) -> dict[str, str]:
    """The header an OpenAI-compatible engine that wants a key expects."""
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


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
        raise ValueError(f"engine kind must be llm, embedding or both, not {kind!r}")
    return frozenset(kinds)


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
        }
