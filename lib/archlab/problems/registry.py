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


# Plugins (entry point group "archlab.problems"): name -> Plugin, name -> error message.
_PLUGINS: dict[str, Any] = {}
_PLUGIN_ERRORS: dict[str, str] = {}
_plugins_loaded = False


def _validate_plugin(plugin: Any, obj: Any) -> None:
    if not callable(obj):
        raise TypeError(f"{plugin.value} is {obj!r}; expected a Problem class or a factory "
                        "callable(workload=, objective=, target=, **extra) -> Problem")


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from archlab.core import plugins

    loaded, errors = plugins.load_group(plugins.PROBLEMS, _validate_plugin)
    for name, (plugin, factory) in loaded.items():
        if name in _FACTORIES and _FACTORIES[name] is not factory:
            errors[name] = (f"plugin {name!r} ({plugin.where}) has the name of a built-in problem; "
                            "the built-in is kept: rename the entry point")
            continue
        _FACTORIES[name] = factory
        _PLUGINS[name] = plugin
    for name, msg in errors.items():
        _PLUGIN_ERRORS.setdefault(name, msg)


def reload_plugins() -> None:
    """Forget loaded problem plugins and look again on the next lookup."""
    global _plugins_loaded
    for name in _PLUGINS:
        _FACTORIES.pop(name, None)
    _PLUGINS.clear()
    _PLUGIN_ERRORS.clear()
    _plugins_loaded = False


def plugin_errors() -> dict[str, str]:
    """Problem plugins that could not be loaded: name -> what went wrong and what to fix."""
    _load_plugins()
    return dict(_PLUGIN_ERRORS)


def plugin_of(name: str) -> Any:
    """The :class:`archlab.core.plugins.Plugin` behind problem ``name`` (None for a built-in)."""
    _load_plugins()
    return _PLUGINS.get(name)


def problem_names() -> list[str]:
    _load_plugins()
    return sorted(_FACTORIES)


def _factory(name: str) -> Factory | str:
    _load_plugins()
    if name not in _FACTORIES:
        if name in _PLUGIN_ERRORS:
            from archlab.core.plugins import PluginError

            raise PluginError(_PLUGIN_ERRORS[name])
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
