"""No module import cycle anywhere in ``sage`` (function-level and TYPE_CHECKING imports
count, as in import-linter). Layer contracts cannot see a cycle between two modules of
one package; this test can. grimp comes with import-linter."""

from __future__ import annotations

import grimp

from sage.common.graphs import strongly_connected

# Cycles another area is removing right now: {frozenset(modules): owner}. Delete an
# entry when its cycle is gone (the test then fails if it comes back).
KNOWN: dict[frozenset[str], str] = {}


def import_cycles(graph: grimp.ImportGraph) -> list[frozenset[str]]:
    """Strongly connected components of more than one module."""
    components = strongly_connected(
        sorted(graph.modules), lambda m: sorted(graph.find_modules_directly_imported_by(m)))
    return [frozenset(c) for c in components if len(c) > 1]


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
