"""Strongly connected components of a directed graph (Tarjan, iterative, so a deep
graph cannot hit the recursion limit). The dataflow compiler finds feedback loops with
it; the architecture test finds module import cycles.

>>> edges = {"a": ["b"], "b": ["a", "c"], "c": []}
>>> strongly_connected(["a", "b", "c"], lambda n: edges[n])
[['c'], ['b', 'a']]
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import TypeVar

N = TypeVar("N", bound=Hashable)


def strongly_connected(nodes: Iterable[N], successors: Callable[[N], Iterable[N]]
                       ) -> list[list[N]]:
    """Every component, each one's nodes in pop order, components in reverse
    topological order (a component comes before the ones that reach it)."""
    index: dict[N, int] = {}
    low: dict[N, int] = {}
    stack: list[N] = []
    on_stack: set[N] = set()
    out: list[list[N]] = []

    def visit(node: N) -> tuple[N, Iterator[N]]:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        return node, iter(successors(node))

    for root in nodes:
        if root in index:
            continue
        work = [visit(root)]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    work.append(visit(child))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[N] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(component)
    return out
