"""Fingerprint of the source code that decides an experiment's result.

An experiment's id (:attr:`archlab.sweep.plan.Experiment.id`) includes
``code_version(searcher, problem)``: a SHA-256 over the searcher's module, the problem's
package (or module) and the shared core (spaces, the Problem contract, the thread/RNG policy,
the searcher base and the sweep runner). Editing a searcher therefore re-runs exactly that searcher's experiments
on the next sweep, and editing a simulator re-runs that problem's, instead of the store
answering with results of the old code. Comments count too: a false re-run costs time,
a stale result would cost correctness.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import inspect
from pathlib import Path

import archlab

ROOT = Path(archlab.__file__).resolve().parent
SHARED = ("core/space.py", "core/problem.py", "core/runtime.py", "search/base.py", "search/lattice.py",
          "search/torch_utils.py", "sweep/run.py")


def module_sources(module: str) -> list[Path]:
    """The ``.py`` files of ``module``: every file under it for a package, else its own file."""
    mod = importlib.import_module(module)
    path = Path(inspect.getfile(mod)).resolve()
    return sorted(path.parent.rglob("*.py")) if path.name == "__init__.py" else [path]


@functools.cache
def code_version(searcher: str, problem: str) -> str:
    """12 hex digits identifying the code behind (``searcher``, ``problem``) experiments."""
    from archlab.problems import problem_module
    from archlab.search import get

    files = {ROOT / f for f in SHARED}
    files.update(module_sources(get(searcher).__module__))
    files.update(module_sources(problem_module(problem)))
    digest = hashlib.sha256()
    for f in sorted(files):
        name = f.relative_to(ROOT).as_posix() if f.is_relative_to(ROOT) else f.name
        digest.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:12]
