"""The import rules of the layered package (mirrored in docs/architecture.md).

Walks every module's imports with the AST (function-level and ``TYPE_CHECKING`` imports
included) and checks each edge against :data:`MAY_IMPORT`, plus the absence of cycles
between modules. Imports by name (``importlib.import_module``, ``core.params.SECTIONS``,
``cli.GROUPS``) are registries resolved at run time and are not edges here.
"""

from __future__ import annotations

import import_graph as g
import pytest

# layer -> packages; a package may import its own layer's listed peers and every layer below
LAYERS: dict[int, tuple[str, ...]] = {
    0: ("core",),
    1: ("problems", "search", "envs"),
    2: ("sweep", "analysis", "gemm", "ondevice"),
    3: ("studies",),
    4: ("workbook", "cli"),
}
_BELOW = {n: {p for m in range(n) for p in LAYERS[m]} for n in LAYERS}
# package -> the archlab packages it may import (the root ``archlab`` is always allowed)
MAY_IMPORT: dict[str, set[str]] = {
    "core": {"core"},
    "problems": {"core", "problems"},
    "search": {"core", "search"},
    "envs": {"core", "problems", "envs"},
    **{p: _BELOW[2] | set(LAYERS[2]) for p in LAYERS[2]},
    "studies": _BELOW[3] | {"studies"},
    "workbook": _BELOW[4] | {"workbook"},
    "cli": _BELOW[4] | {"workbook", "cli"},
}


def test_every_package_has_a_layer():
    packages = {g.layer(m) for m in g.modules()} - {"archlab"}
    assert packages <= set(MAY_IMPORT), f"packages without a layer: {sorted(packages - set(MAY_IMPORT))}"


def _violations() -> list[str]:
    out = []
    for mod in sorted(g.modules()):
        src = g.layer(mod)
        if src == "archlab":
            continue
        for target in sorted(g.imports_of(mod)):
            dst = g.layer(target)
            if dst != "archlab" and dst not in MAY_IMPORT.get(src, set()):
                out.append(f"{mod} imports {target} ({src} may import: {', '.join(sorted(MAY_IMPORT[src]))})")
    return out


def test_imports_only_go_down():
    bad = _violations()
    assert not bad, "layer violations:\n  " + "\n  ".join(bad)


def _cycles() -> list[list[str]]:
    """Strongly connected components (size > 1) of the module import graph (Tarjan).

    An edge to one's own parent package (``from archlab.sweep import x`` inside
    ``archlab.sweep.run``) counts: the package's ``__init__`` runs first, so it is a cycle.
    """
    graph = {m: sorted(g.imports_of(m)) for m in g.modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def test_no_import_cycles():
    cycles = _cycles()
    assert not cycles, "import cycles:\n  " + "\n  ".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("src,dst,ok", [
    ("core", "problems", False), ("problems", "search", False), ("search", "problems", False),
    ("problems", "studies", False), ("sweep", "studies", False), ("gemm", "workbook", False),
    ("ondevice", "cli", False), ("analysis", "studies", False), ("studies", "sweep", True),
    ("workbook", "studies", True), ("cli", "studies", True), ("workbook", "cli", False),
])
def test_the_rules_of_the_issue(src, dst, ok):
    """The table encodes the stated rules (a guard against loosening it by accident)."""
    assert (dst in MAY_IMPORT[src]) is ok
