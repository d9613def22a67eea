"""Static import graph of the archlab package (AST walk; used by the layer and DVC-deps tests).

Every ``import archlab...`` / ``from archlab... import ...`` is counted, including imports
inside functions and ``if TYPE_CHECKING`` blocks (they are still edges a reader follows).
Modules imported by string (``importlib.import_module("archlab...")``, params ``SECTIONS``)
are found too when the string is a literal ``archlab.`` dotted name.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"
PKG = LIB / "archlab"


def module_name(path: Path) -> str:
    rel = path.relative_to(LIB).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every archlab module name -> its file."""
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The archlab module ``name`` refers to (a module, or a package's ``__init__``)."""
    mods = modules()
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def imports_of(mod: str, *, strings: bool = False) -> frozenset[str]:
    """archlab modules that ``mod`` imports (AST, function-level included).

    ``from a.b import c`` counts ``a.b.c`` when it is a module, else ``a.b``. With
    ``strings``, literal ``"archlab.x.y"`` / ``"archlab.x.y:Name"`` strings count as well
    (imports by name, e.g. params.SECTIONS, cli.GROUPS).
    """
    path = modules()[mod]
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = mod.split(".") if is_pkg else mod.split(".")[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([base] if base else []))
            # ``from pkg import mod`` is an edge to pkg.mod; ``from pkg import name`` to pkg
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules() else base for a in node.names]
        elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str):
            s = node.value.partition(":")[0]
            if s.startswith("archlab.") and all(p.isidentifier() for p in s.split(".")):
                names = [s]
        for n in names:
            if n == "archlab" or n.startswith("archlab."):
                r = _resolve(n)
                if r is not None and r != mod:
                    out.add(r)
    # a package's parents run first: importing a.b.c executes a and a.b
    return frozenset(out)


def with_parents(mods: set[str]) -> set[str]:
    out = set()
    for m in mods:
        parts = m.split(".")
        for i in range(1, len(parts) + 1):
            p = ".".join(parts[:i])
            if p in modules():
                out.add(p)
    return out


def closure(start: str | list[str], *, strings: bool = True) -> set[str]:
    """Every archlab module reachable from ``start`` (including the packages' ``__init__``)."""
    todo = list(with_parents({start} if isinstance(start, str) else set(start)))
    seen: set[str] = set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(with_parents(set(imports_of(m, strings=strings))) - seen)
    return seen


def layer(mod: str) -> str:
    """The layer of a module: its first package below archlab (``archlab`` for the root)."""
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else "archlab"
