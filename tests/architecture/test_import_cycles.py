"""No module import cycle anywhere in ``sage`` (function-level and TYPE_CHECKING imports
count, as in import-linter). Layer contracts cannot see a cycle between two modules of
one package; this test can. grimp comes with import-linter."""

from __future__ import annotations

import grimp

# Cycles another area is removing right now: {frozenset(modules): owner}. Delete an
# entry when its cycle is gone (the test then fails if it comes back).
KNOWN: dict[frozenset[str], str] = {}


def import_cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[frozenset[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(
                        child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(frozenset(component))
    return cycles


def test_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for name in ("a", "a.x", "a.y", "a.z"):
        graph.add_module(name)
    graph.add_import(importer="a.x", imported="a.y")
    graph.add_import(importer="a.y", imported="a.x")
    graph.add_import(importer="a.z", imported="a.x")
    assert import_cycles(graph) == [frozenset({"a.x", "a.y"})]


def test_no_module_import_cycle_in_sage() -> None:
    cycles = import_cycles(grimp.build_graph("sage"))
    unexpected = [sorted(c) for c in cycles if c not in KNOWN]
    assert not unexpected, f"module import cycles: {unexpected}"
