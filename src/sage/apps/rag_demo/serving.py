"""Where the demo's models come from: a gateway URL you give, or the embedded stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gateway(base_url: str | None = None, policy: str = "hybrid") -> Iterator[str]:
    """Yield a gateway base URL: ``base_url`` as is, or a fresh stack of the default
    embedded engines (SmolLM2 + all-MiniLM) behind a gateway, stopped on exit."""
    if base_url:
        yield base_url
        return
    from sage.gateway.stack import serve_stack

    with serve_stack(llm_model="default", embedding_model="default", policy=policy) as url:
        yield url
