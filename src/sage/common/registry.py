"""One registry type for every extension point (policies, schedulers, strategies,
engine backends, operator kinds, serving baselines).

Each extension point owns one ``Registry`` instance; plug-ins register by name with
the decorator (or :meth:`Registry.register`) and callers look them up with
:meth:`Registry.get`. An unknown name is always the same :class:`ConfigError`:
``unknown policy 'x'; available: fifo, hybrid, ...``.

>>> shapes: Registry[type] = Registry("shape")
>>> @shapes.register("square")
... class Square:
...     pass
>>> shapes.get("square") is Square
True
>>> shapes.get("circle")
Traceback (most recent call last):
...
sage.common.errors.ConfigError: unknown shape 'circle'; available: square
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, overload

from sage.common.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names -> plug-ins (classes, factories or objects) of one extension point."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[str, T] = {}

    @overload
    def register(self, name: str) -> Callable[[T], T]: ...

    @overload
    def register(self, name: str, item: T, *, replace: bool = False) -> T: ...

    def register(
        self, name: str, item: T | None = None, *, replace: bool = False
    ) -> T | Callable[[T], T]:
        """Register ``item`` under ``name``; without ``item``, return a decorator.

        Registering a taken name with another item is a :class:`ConfigError` unless
        ``replace=True`` (re-registering the same item is a no-op, so re-imports are safe).
        """
        if not name or not isinstance(name, str):
            raise ConfigError(f"a {self.what} needs a non-empty name")
        if item is None:

            def decorator(obj: T) -> T:
                self.register(name, obj, replace=replace)
                return obj

            return decorator
        current = self._items.get(name)
        if current is not None and current is not item and not replace:
            raise ConfigError(f"{self.what} {name!r} is already registered")
        self._items[name] = item
        return item

    def get(self, name: str) -> T:
        """The plug-in registered as ``name``; ConfigError naming the choices if none."""
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise ConfigError(
                f"unknown {self.what} {name!r}; available: {', '.join(self.names())}"
            ) from None

    def unregister(self, name: str) -> None:
        self._items.pop(name, None)

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
