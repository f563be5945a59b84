"""The control plane's directory of engines: which are registered, what they serve, and
which canonical model name a client's name (or ``"default"``) means."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sage.llm.control_plane.engines import EngineEndpoint, model_aliases
from sage.llm.control_plane.errors import NoHealthyEngineError, UnknownModelError
from sage.llm.control_plane.pool import EnginePool
from sage.llm.control_plane.types import EngineState, Request, RequestKind


def default_model(engine_kind: str, engines: Sequence[EngineState]) -> str:
    """What ``"default"`` means for ``engine_kind``: a specialist engine's model first; on
    an engine serving both kinds (it lists both kinds' names), names that say "embed" are
    taken for embeddings and the others for LLM calls. Ties: alphabetical."""

    def rank(state: EngineState, name: str) -> tuple[bool, bool, str]:
        fits = ("embed" in name.lower()) == (engine_kind == "embedding")
        return (len(state.kinds) > 1, not fits, name)

    return min(rank(s, m) for s in engines for m in s.models)[2]


class EngineDirectory:
    """Engines by id, their live states (an indexed :class:`EnginePool` that policies
    place on without scanning) and the model aliases clients may use."""

    def __init__(self) -> None:
        self._endpoints: dict[str, EngineEndpoint] = {}
        self.states = EnginePool()
        self._aliases: dict[str, dict[str, str]] = {"llm": {}, "embedding": {}}
        self._ids = itertools.count()

    def new_id(self) -> str:
        return f"engine-{next(self._ids)}"

    def add(self, endpoint: EngineEndpoint) -> EngineEndpoint:
        """Register ``endpoint`` (the caller removes an old one with the same id first)."""
        self._endpoints[endpoint.id] = endpoint
        self.states.append(endpoint.state)
        self._rebuild_aliases()
        return endpoint

    def remove(self, engine_id: str) -> EngineEndpoint | None:
        endpoint = self._endpoints.pop(engine_id, None)
        if endpoint is not None:
            self.states = EnginePool(s for s in self.states if s.id != engine_id)
            self._rebuild_aliases()
        return endpoint

    def get(self, engine_id: str) -> EngineEndpoint | None:
        return self._endpoints.get(engine_id)

    def __getitem__(self, engine_id: str) -> EngineEndpoint:
        return self._endpoints[engine_id]

    def __contains__(self, engine_id: object) -> bool:
        return engine_id in self._endpoints

    def endpoints(self) -> list[EngineEndpoint]:
        return list(self._endpoints.values())

    def can_serve(self, request: Request, *, besides: str | None = None) -> bool:
        """Whether a healthy engine (other than ``besides``) can take ``request``."""
        return any(s.id != besides and s.can_serve(request) for s in self.states)

    def serves_when_up(self, request: Request) -> bool:
        """Whether a registered engine, healthy or not, serves ``request``."""
        return any(s.serves(request) for s in self.states)

    def snapshot(self) -> list[EngineState]:
        """Copies of the engine states (for metrics and admin views)."""
        return [replace(s) for s in self.states]

    # -- models ----------------------------------------------------------------------
    def _rebuild_aliases(self) -> None:
        aliases: dict[str, dict[str, str]] = {"llm": {}, "embedding": {}}
        for state in self.states:
            for kind in state.kinds:
                for model in sorted(state.models):
                    for alias in model_aliases(model):
                        aliases[kind].setdefault(alias, model)
        self._aliases = aliases

    def models(self) -> list[dict[str, Any]]:
        """Every model a registered engine serves, OpenAI ``/v1/models`` style."""
        seen: dict[str, dict[str, Any]] = {}
        for state in self.states:
            for model in sorted(state.models):
                entry = seen.setdefault(
                    model,
                    {
                        "id": model,
                        "object": "model",
                        "created": 0,
                        "owned_by": "sage",
                        "kinds": set(),
                        "healthy": False,
                    },
                )
                entry["kinds"] |= state.kinds
                entry["healthy"] = entry["healthy"] or state.healthy
        return [{**m, "kinds": sorted(m["kinds"])} for m in seen.values()]

    def resolve_model(self, kind: RequestKind, model: str | None) -> str:
        """The canonical model name for ``model`` (``None``/"default": :func:`default_model`)."""
        engine_kind = kind.engine_kind
        if not model or model == "default":
            named = [s for s in self.states if engine_kind in s.kinds and s.models]
            if named:
                return default_model(engine_kind, named)
            if any(engine_kind in s.kinds for s in self.states):
                return model or "default"  # engines of this kind serve anything
            raise NoHealthyEngineError(f"no {engine_kind} engine is registered")
        canonical = self._aliases[engine_kind].get(model)
        if canonical is not None:
            return canonical
        if any(engine_kind in s.kinds and not s.models for s in self.states):
            return model
        raise UnknownModelError(f"model {model!r} is not served here")
