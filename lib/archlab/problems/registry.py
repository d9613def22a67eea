"""Problem factories by name, so a sweep (and its ids) names problems in plain JSON.

``make_problem(name, workload=..., objective=..., target=...)`` builds a Problem:

* ``dram``      -> ``archlab.problems.dram.DramProblem(trace=workload, objective=..., target=...)``
* ``accel``     -> ``archlab.problems.accel.AccelProblem(workload=workload, objective=..., target=...)``
* ``synthetic`` -> :class:`SyntheticProblem` (cheap, deterministic; tests and benchmarks)
* ``table``     -> ``archlab.problems.table.TableProblem(workload="dram/cloud-1", ...)``: a
  tabulated space answered by lookup (``data/<kind>_tables/<name>.parquet``)

Imports are lazy: the real simulators load only when a sweep uses them. Register another
factory with :func:`register_problem`, or from another installed package through the entry
point group ``archlab.problems`` (:mod:`archlab.core.plugins`; loaded on the first lookup in
each process, so sweep workers find plugin problems too).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from archlab.core.plugins import PROBLEMS, PluginSet

Factory = Callable[..., Any]
_FACTORIES: dict[str, Factory | str] = {
    "dram": "archlab.problems.dram:DramProblem:trace",
    "accel": "archlab.problems.accel:AccelProblem:workload",
    "synthetic": "archlab.problems.synthetic:SyntheticProblem:workload",
    "table": "archlab.problems.table:TableProblem:workload",
}


def register_problem(name: str, factory: Factory) -> None:
    """``factory(workload=, objective=, target=, **extra) -> Problem``."""
    _FACTORIES[name] = factory


# Plugins (entry point group "archlab.problems", archlab.core.plugins), loaded on the first
# lookup in each process. A broken plugin is kept as an error under its name.
def _validate_plugin(plugin: Any, obj: Any) -> None:
    if not callable(obj):
        raise TypeError(f"{plugin.value} is {obj!r}; expected a Problem class or a factory "
                        "callable(workload=, objective=, target=, **extra) -> Problem")


def _clash(name: str, plugin: Any, builtin: Any) -> str:
    return (f"plugin {name!r} ({plugin.where}) has the name of a built-in problem; "
            "the built-in is kept: rename the entry point")


_PLUGINS = PluginSet(PROBLEMS, _FACTORIES, _validate_plugin, _clash)


def reload_plugins() -> None:
    """Forget loaded problem plugins and look again on the next lookup."""
    _PLUGINS.reload()


def plugin_errors() -> dict[str, str]:
    """Problem plugins that could not be loaded: name -> what went wrong and what to fix."""
    return _PLUGINS.error_messages()


def plugin_of(name: str) -> Any:
    """The :class:`archlab.core.plugins.Plugin` behind problem ``name`` (None for a built-in)."""
    return _PLUGINS.plugin_of(name)


def problem_names() -> list[str]:
    _PLUGINS.load()
    return sorted(_FACTORIES)


def _factory(name: str) -> Factory | str:
    _PLUGINS.load()
    if name not in _FACTORIES:
        if name in _PLUGINS.errors:
            from archlab.core.plugins import PluginError

            raise PluginError(_PLUGINS.errors[name])
        raise KeyError(f"unknown problem {name!r}; allowed: {', '.join(problem_names())}")
    return _FACTORIES[name]


def problem_factory(name: str) -> Factory | str:
    """What ``name`` is registered as: a factory callable, or a built-in's lazy
    ``"module:Class:workload_keyword"`` reference."""
    return _factory(name)


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
