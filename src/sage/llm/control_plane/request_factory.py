"""Requests stamped by the control plane that will queue them."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from sage.llm.control_plane.types import Request, RequestKind


class RequestFactory:
    """Makes :class:`Request` objects with this control plane's clock, ids and canonical
    model names, so arrival times and deadlines are on the clock its policies read."""

    def __init__(
        self,
        clock: Callable[[], float],
        resolve_model: Callable[[RequestKind, str | None], str],
    ) -> None:
        self._clock = clock
        self._resolve_model = resolve_model
        self._ids = itertools.count()

    def __call__(
        self,
        kind: RequestKind,
        model: str | None,
        *,
        tenant: str = "default",
        priority: int = 0,
        deadline_s: float | None = None,
        prompt_tokens: int = 0,
        max_tokens: int = 0,
        n_inputs: int = 1,
        prefix_hashes: tuple[int, ...] = (),
    ) -> Request:
        now = self._clock()
        return Request(
            id=f"req-{next(self._ids)}",
            kind=kind,
            model=self._resolve_model(kind, model),
            tenant=tenant,
            priority=priority,
            arrival=now,
            deadline=None if deadline_s is None else now + deadline_s,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
            n_inputs=n_inputs,
            prefix_hashes=prefix_hashes,
        )
