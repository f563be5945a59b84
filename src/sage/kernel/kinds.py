"""Operator kinds: what each kind of operator does with a micro-batch and how the plan
compiler may chain it. One object per kind, registered in :data:`OPERATOR_KINDS`, so
the API, the compiler and the runners ask the kind instead of comparing names.

A kind runs a batch in one of two ways. ``batch(f, records)`` is the fast path (no error
policy, no key context): one comprehension over the user's function. ``each(f, record,
key, port, out)`` handles one record and appends its outputs to ``out``; the runner wraps
it with the operator's error policy. A kind without ``each`` is applied to whole batches
only (``map_batches``, which calls a function's ``execute_batch`` when it has one); on an
error under ``skip``/``dead_letter`` the whole batch is skipped or dead-lettered, record
by record.

>>> OPERATOR_KINDS.get("filter").batch(lambda x: x % 2, [1, 2, 3])
[1, 3]
>>> OPERATOR_KINDS.get("map").chains, OPERATOR_KINDS.get("sink").ends_chain
(True, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sage.common.registry import Registry

BatchFn = Callable[[Callable[..., Any], list[Any]], list[Any]]
EachFn = Callable[[Callable[..., Any], Any, Any, int, list[Any]], None]


@dataclass(frozen=True, eq=False)
class OperatorKind:
    """One kind of operator (compared by identity; ``str()`` is its name)."""

    name: str
    batch: BatchFn | None = None
    each: EachFn | None = None
    source: bool = False          # no inputs; a SourceRunner pulls its batches
    placeholder: bool = False     # ``from_future``: replaced by feedback edges, never runs
    multi_input: bool = False     # one input port per connected stream (comap, join)
    keyed_inputs: bool = False    # every input must be hash-keyed (join)
    chains: bool = True           # may be fused into its producer's task
    ends_chain: bool = False      # nothing is fused after it (sinks)
    collects: bool = False        # the function may ``self.collect`` (flatmap)
    per_port: bool = False        # input ``i`` goes to method ``map{i}`` (comap)
    on_driver: bool = False       # a sink whose function runs in the driver (env.collect)
    method: str = "execute"       # the function's method it calls (falls back to execute)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"OperatorKind({self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # unpickles to the registered singleton (Ray)
        return (kind_named, (self.name,))


def _map_batch(f: Callable[..., Any], records: list[Any]) -> list[Any]:
    return [f(r) for r in records]


def _map_each(f: Callable[..., Any], r: Any, key: Any, port: int, out: list[Any]) -> None:
    out.append(f(r))


def _filter_batch(f: Callable[..., Any], records: list[Any]) -> list[Any]:
    return [r for r in records if f(r)]


def _filter_each(f: Callable[..., Any], r: Any, key: Any, port: int, out: list[Any]) -> None:
    if f(r):
        out.append(r)


def _flatmap_each(f: Callable[..., Any], r: Any, key: Any, port: int, out: list[Any]) -> None:
    res = f(r)
    if res is not None:
        out.extend(res)


def _sink_batch(f: Callable[..., Any], records: list[Any]) -> list[Any]:
    for r in records:
        f(r)
    return []


def _sink_each(f: Callable[..., Any], r: Any, key: Any, port: int, out: list[Any]) -> None:
    f(r)


def _join_each(f: Callable[..., Any], r: Any, key: Any, port: int, out: list[Any]) -> None:
    res = f(r, key, port)
    if res is not None:
        out.extend(res)


def _identity_batch(f: Callable[..., Any], records: list[Any]) -> list[Any]:
    return records


def _identity_each(f: Callable[..., Any], r: Any, key: Any, port: int, out: list[Any]) -> None:
    out.append(r)


def _batches(f: Callable[..., Any], records: list[Any]) -> list[Any]:
    out = f(records)
    if out is None:
        return []
    if type(out) is not list:
        out = list(out)
    return out


OPERATOR_KINDS: Registry[OperatorKind] = Registry("operator kind")


def kind_named(name: str) -> OperatorKind:
    """The registered kind called ``name`` (ConfigError naming the kinds if none)."""
    return OPERATOR_KINDS.get(name)


def _kind(name: str, **rules: Any) -> OperatorKind:
    return OPERATOR_KINDS.register(name, OperatorKind(name, **rules))


SOURCE = _kind("source", source=True, chains=False)
MAP = _kind("map", batch=_map_batch, each=_map_each)
MAP_BATCHES = _kind("map_batches", batch=_batches, method="execute_batch")
FILTER = _kind("filter", batch=_filter_batch, each=_filter_each)
FLATMAP = _kind("flatmap", each=_flatmap_each, collects=True)
SINK = _kind("sink", batch=_sink_batch, each=_sink_each, ends_chain=True)
COLLECT = _kind("collect", batch=_sink_batch, each=_sink_each, ends_chain=True, on_driver=True)
COMAP = _kind("comap", batch=_map_batch, each=_map_each, multi_input=True, chains=False,
              per_port=True)
JOIN = _kind("join", each=_join_each, multi_input=True, keyed_inputs=True, chains=False)
FUTURE = _kind("future", placeholder=True, chains=False)
DEAD_LETTER = _kind("dead_letter", batch=_identity_batch, each=_identity_each, chains=False)
