"""Problem factories by name, so a sweep (and its ids) names problems in plain JSON.

``make_problem(name, workload=..., objective=..., target=...)`` builds a Problem:

* ``dram``      -> ``archlab.problems.dram.DramProblem(trace=workload, objective=..., target=...)``
* ``accel``     -> ``archlab.problems.accel.AccelProblem(workload=workload, objective=..., target=...)``
* ``synthetic`` -> :class:`SyntheticProblem` (cheap, deterministic; tests and benchmarks)

Imports are lazy: the real simulators load only when a sweep uses them. Register another
factory with :func:`register_problem`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Factory = Callable[..., Any]
_FACTORIES: dict[str, Factory | str] = {
    "dram": "archlab.problems.dram:DramProblem:trace",
    "accel": "archlab.problems.accel:AccelProblem:workload",
    "synthetic": "archlab.problems.synthetic:SyntheticProblem:workload",
}


def register_problem(name: str, factory: Factory) -> None:
    """``factory(workload=, objective=, target=, **extra) -> Problem``."""
    _FACTORIES[name] = factory


def problem_names() -> list[str]:
    return sorted(_FACTORIES)


def _factory(name: str) -> Factory | str:
    if name not in _FACTORIES:
        raise KeyError(f"unknown problem {name!r}; allowed: {', '.join(problem_names())}")
    return _FACTORIES[name]


def problem_module(name: str) -> str:
    """The module (or package) that implements problem ``name``."""
    factory = _factory(name)
    return factory.__module__ if callable(factory) else factory.split(":")[0]


def make_problem(name: str, workload: str, objective: str, target: Any = None, **extra: Any) -> Any:
    """Build the problem ``name`` for ``workload``/``objective`` with ``target`` (None = default)."""
    factory = _factory(name)
    if callable(factory):
        return factory(workload=workload, objective=objective, target=target, **extra)
    module, cls, workload_kw = factory.split(":")
    klass = getattr(importlib.import_module(module), cls)
    return klass(**{workload_kw: workload}, objective=objective, target=target, **extra)
