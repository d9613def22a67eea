"""DVC deps that cannot drift: every archlab module a stage's command imports is a dep.

For each stage of ``dvc.yaml`` the entry points are found from its command:

* ``archlab nb run NOTEBOOK ...``: the notebook's code cells' imports, plus the runner
  (``archlab.workbook.nb``), whose cleaning shapes the report;
* ``archlab GROUP ...``: the command group's module ``archlab.cli.GROUP`` (every command in
  it, function-level imports included: conservative).

From there the archlab imports are followed statically (AST, transitively; importing
``a.b.c`` also runs ``a`` and ``a.b``). Every module reached must lie under one of the
stage's deps (a folder, or the file itself), except trivial package ``__init__`` files
(a docstring and constants only) and the root CLI package (``archlab.cli``, which only
mounts the groups). Deps that do not exist fail too.
"""

from __future__ import annotations

import ast
import json
import shlex
from functools import cache
from pathlib import Path

import import_graph as g
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
RUNNER = "archlab.workbook.nb"
# the root CLI package only mounts the command groups (argument dispatch, no results): not
# followed and not required (each group module is the stage's entry point instead)
DISPATCH = {"archlab.cli"}


@cache
def stages() -> dict[str, dict]:
    return yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


def notebook_imports(path: Path) -> set[str]:
    """archlab modules imported by the notebook's code cells (magics and shell lines skipped)."""
    nb = json.loads(path.read_text())
    found: set[str] = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        src = "\n".join(line for line in src.splitlines() if not line.lstrip().startswith(("%", "!")))
        tree = ast.parse(src, str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in g.modules() else node.module
                         for a in node.names]
            found |= {r for n in names if n.startswith("archlab") and (r := g._resolve(n))}
    return found


def entry_points(cmd: str) -> tuple[set[str], list[str]]:
    """(entry modules, problems) for a stage command."""
    argv = shlex.split(cmd)
    if argv[:1] != ["archlab"] or len(argv) < 2:
        return set(), [f"command {cmd!r} is not an archlab command; cannot check its imports"]
    if argv[1:3] == ["nb", "run"]:
        nbpath = REPO / argv[3]
        if not nbpath.is_file():
            return set(), [f"notebook {argv[3]} does not exist"]
        return notebook_imports(nbpath) | {RUNNER}, []
    mod = f"archlab.cli.{argv[1]}"
    if mod not in g.modules():
        return set(), [f"no CLI module {mod} for {cmd!r}"]
    return {mod}, []


def reached(entries: set[str]) -> set[str]:
    """Entry modules plus everything they import, transitively, with parent packages."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        m = todo.pop()
        if m in seen or m in DISPATCH:
            continue
        seen.add(m)
        todo.extend(g.with_parents(set(g.imports_of(m))) - seen)
    return seen


@cache
def trivial(mod: str) -> bool:
    """A module that only holds a docstring, constants and ``__all__`` (no code, no imports)."""
    tree = ast.parse(g.modules()[mod].read_text())
    return all(isinstance(n, (ast.Expr, ast.Assign, ast.AnnAssign)) for n in tree.body)


def covered(path: str, deps: list[str]) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def missing_deps(stage: str) -> list[str]:
    spec = stages()[stage]
    deps = [d if isinstance(d, str) else next(iter(d)) for d in spec.get("deps", [])]
    entries, problems = entry_points(spec["cmd"])
    problems += [f"dep {d} does not exist" for d in deps if not (REPO / d).exists() and not d.startswith(
        ("data/", "metrics", "figures", "reports"))]
    missing: dict[str, list[str]] = {}
    for mod in sorted(reached(entries)):
        rel = g.modules()[mod].relative_to(REPO).as_posix()
        if not trivial(mod) and not covered(rel, deps):
            folder, _, name = rel.rpartition("/")
            missing.setdefault(folder, []).append(name)
    problems += [f"add {folder} (imports {', '.join(names)})" for folder, names in sorted(missing.items())]
    return problems


@pytest.mark.parametrize("stage", sorted(stages()))
def test_stage_deps_cover_its_imports(stage):
    problems = missing_deps(stage)
    assert not problems, f"stage {stage}:\n  " + "\n  ".join(problems)


def test_the_walk_finds_function_level_imports(tmp_path):
    """A sanity check of the walker on a known case: the sweep CLI reaches the searchers."""
    mods = reached({"archlab.cli.sweep"})
    assert "archlab.sweep.run" in mods and any(m.startswith("archlab.search.") for m in mods)
