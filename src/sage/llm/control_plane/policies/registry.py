"""Request policies by name: ``get_policy("hybrid", batch_size=16)``.

One :class:`~sage.common.registry.Registry`; the package registers the built-ins, a
plug-in registers its own with :func:`register_policy`. Options are validated by the
policy's ``Options`` model first, so a bad one is a :class:`ConfigError` and no policy
is built (a running one stays untouched).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from pydantic import ValidationError

from sage.common.errors import ConfigError
from sage.common.registry import Registry
from sage.llm.control_plane.policies.base import RequestPolicy

POLICIES: Registry[type[RequestPolicy]] = Registry("policy")
P = TypeVar("P", bound=type[RequestPolicy])


@overload
def register_policy(name: str) -> Callable[[P], P]: ...


@overload
def register_policy(name: str, cls: P) -> P: ...


def register_policy(name: str, cls: P | None = None) -> P | Callable[[P], P]:
    """Make a policy available by ``name`` (as a class decorator without ``cls``)."""

    def register(policy: P) -> P:
        policy.name = name
        POLICIES.register(name, policy)
        return policy

    return register if cls is None else register(cls)


def get_policy(name: str, *, max_queue: int = 1024, **options: Any) -> RequestPolicy:
    """A new instance of the policy registered as ``name``, its ``options`` validated."""
    cls = POLICIES.get(name)
    if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 1:
        raise ConfigError(f"max_queue must be an integer >= 1, not {max_queue!r}")
    try:
        valid = cls.Options.model_validate(options)
    except ValidationError as exc:
        raise ConfigError(f"bad options for policy {name!r}: {_explain(exc)}") from None
    return cls(max_queue=max_queue, **valid.model_dump())


def available_policies() -> list[str]:
    return POLICIES.names()


def _explain(exc: ValidationError) -> str:
    """``quantum: Input should be greater than 0; extra: ...`` (one line, no URLs)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'options'}: {e['msg']}" for e in exc.errors()
    )
