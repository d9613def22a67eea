"""Plugins: searchers and problems from other installed packages, found through entry points.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."archlab.searchers"]
    one_plus_one = "my_searcher:OnePlusOne"        # a Searcher subclass, name = "one_plus_one"

    [project.entry-points."archlab.problems"]
    toy-onemax = "my_searcher.toy:ToyProblem"       # factory(workload=, objective=, target=, **extra)

Without packaging, the environment variables ``ARCHLAB_SEARCHERS`` / ``ARCHLAB_PROBLEMS``
(``"name=module:attr,name2=module:attr"``) declare the same entries; worker processes inherit
them (``archlab bench --searcher module:Class`` uses this for a class that is not installed).

The registries (:mod:`archlab.search.base`, :mod:`archlab.problems.registry`) call
:func:`load_group` lazily, on their first lookup, in every process that looks a name up
(sweep workers included). One broken plugin never hides the others or the built-ins: its
error is kept under its name, raised when that name is used and listed by
``archlab search list``. This module only finds and imports; the registries decide what
a valid plugin object is.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SEARCHERS = "archlab.searchers"
PROBLEMS = "archlab.problems"
ENV = {SEARCHERS: "ARCHLAB_SEARCHERS", PROBLEMS: "ARCHLAB_PROBLEMS"}


class PluginError(KeyError):
    """A plugin that could not be used (import error, wrong type, name clash).

    A ``KeyError`` so that every caller handling an unknown name handles it too; ``str()``
    is the plain message (which names the distribution package and the entry point).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Plugin:
    """One entry point of an installed distribution."""

    group: str
    name: str
    value: str                 # "module:attr"
    dist: str                  # distribution package name ("?" if unknown)
    version: str

    @property
    def where(self) -> str:
        """How a message names it: entry point, group and package (or environment variable)."""
        if self.dist.startswith("$"):
            return f"entry '{self.name}={self.value}' of the environment variable {self.dist[1:]}"
        return (f"entry point '{self.name} = {self.value}' in group '{self.group}' "
                f"of package '{self.dist}' {self.version}")


def env_entries(group: str) -> list[tuple[str, str]]:
    """``(name, "module:attr")`` pairs declared in the group's environment variable."""
    var = ENV.get(group)
    raw = os.environ.get(var, "") if var else ""
    out = []
    for item in filter(None, (x.strip() for x in raw.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or ":" not in value:
            raise ValueError(f"{var}: {item!r} is not name=module:attr")
        out.append((name.strip(), value.strip()))
    return out


def add_env_entry(group: str, name: str, value: str) -> None:
    """Declare ``name=value`` in this process's environment (inherited by workers it starts)."""
    var = ENV[group]
    entries = [(n, v) for n, v in env_entries(group) if n != name] + [(name, value)]
    os.environ[var] = ",".join(f"{n}={v}" for n, v in entries)


def discover(group: str, errors: dict[str, str] | None = None) -> list[tuple[Plugin, md.EntryPoint]]:
    """Every entry point of ``group`` in the installed distributions and the group's
    environment variable (nothing imported). A malformed variable is reported in ``errors``
    (under the variable's name) when given, else raises ``ValueError``."""
    importlib.invalidate_caches()  # a package installed since this process started is seen
    out = []
    for ep in md.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        meta = dist.metadata if dist is not None else None
        name = meta["Name"] if meta is not None and meta["Name"] else "?"
        version = dist.version if dist is not None else "?"
        out.append((Plugin(group, ep.name, ep.value, name, version), ep))
    try:
        declared = env_entries(group)
    except ValueError as e:
        if errors is None:
            raise
        errors[ENV[group]] = f"{e}; entries from it are ignored"
        declared = []
    for name, value in declared:
        if any(p.name == name and p.value == value for p, _ in out):
            continue  # the same class, installed and declared: one plugin
        out.append((Plugin(group, name, value, f"${ENV[group]}", ""), md.EntryPoint(name, value, group)))
    return sorted(out, key=lambda p: (p[0].name, p[0].dist))


def load_group(group: str, validate: Callable[[Plugin, Any], None]
               ) -> tuple[dict[str, tuple[Plugin, Any]], dict[str, str]]:
    """Import every plugin of ``group``.

    ``validate(plugin, obj)`` raises ``TypeError``/``ValueError`` with what to fix when the
    loaded object is not acceptable. Returns ``(loaded, errors)``: ``name -> (plugin, obj)``
    for the good ones and ``name -> message`` for the broken ones (a name declared by two
    packages is an error for both: the registry cannot choose).
    """
    errors: dict[str, str] = {}
    found = discover(group, errors)
    by_name: dict[str, list[tuple[Plugin, md.EntryPoint]]] = {}
    for plugin, ep in found:
        by_name.setdefault(plugin.name, []).append((plugin, ep))
    loaded: dict[str, tuple[Plugin, Any]] = {}
    for name, items in by_name.items():
        if len({p.dist for p, _ in items}) > 1:
            errors[name] = (f"plugin {name!r} is declared by several packages: "
                            + "; ".join(p.where for p, _ in items)
                            + ". Uninstall one or rename its entry point.")
            continue
        plugin, ep = items[0]
        try:
            obj = ep.load()
        except Exception as e:  # noqa: BLE001 - any import-time failure is the plugin's
            fix = (f"fix the module or the variable {plugin.dist[1:]}" if plugin.dist.startswith("$")
                   else f"fix or uninstall package '{plugin.dist}'")
            errors[name] = f"plugin {name!r} failed to load ({plugin.where}): {type(e).__name__}: {e}. Fix: {fix}."
            continue
        try:
            validate(plugin, obj)
        except (TypeError, ValueError) as e:
            errors[name] = f"plugin {name!r} is not usable ({plugin.where}): {e}"
            continue
        loaded[name] = (plugin, obj)
    return loaded, errors



class PluginSet:
    """The plugin side of one registry (``registry``: name -> registered object): the entry
    points of ``group``, loaded once per process on the first lookup, so pool and Dask workers
    find them too. A plugin that clashes with a built-in, or fails ``validate``, is kept only
    as an error message under its name (``clash(name, plugin, builtin)`` words the former)."""

    def __init__(self, group: str, registry: dict[str, Any], validate: Callable[[Plugin, Any], None],
                 clash: Callable[[str, Plugin, Any], str]) -> None:
        self.group, self.registry, self.validate, self.clash = group, registry, validate, clash
        self.plugins: dict[str, Plugin] = {}
        self.errors: dict[str, str] = {}
        self.loaded = False

    def load(self) -> None:
        if self.loaded:
            return
        self.loaded = True  # before loading: a plugin module may look the registry up itself
        loaded, errors = load_group(self.group, self.validate)
        for name, (plugin, obj) in loaded.items():
            if name in self.registry and self.registry[name] is not obj:
                errors[name] = self.clash(name, plugin, self.registry[name])
                continue
            self.registry[name] = obj
            self.plugins[name] = plugin
        for name, msg in errors.items():
            self.errors.setdefault(name, msg)

    def reload(self) -> None:
        """Forget loaded plugins and look again on the next lookup (after a ``pip install``)."""
        for name in self.plugins:
            self.registry.pop(name, None)
        self.plugins.clear()
        self.errors.clear()
        self.loaded = False

    def error_messages(self) -> dict[str, str]:
        """Plugins that could not be loaded: name -> what went wrong and what to fix."""
        self.load()
        return dict(self.errors)

    def plugin_of(self, name: str) -> Plugin | None:
        """The plugin behind ``name`` (None for a built-in)."""
        self.load()
        return self.plugins.get(name)

def load_object(spec: str) -> Any:
    """The object named by ``"package.module:Attr"`` (or ``"package.module:Outer.Inner"``).

    What ``archlab check`` and ``archlab bench`` accept for a class that need not be installed
    as a plugin (its module must be importable).
    """
    module, sep, attr = spec.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"{spec!r}: expected 'package.module:Class'")
    try:
        obj: Any = importlib.import_module(module)
    except ImportError as e:
        raise ValueError(f"{spec!r}: cannot import module {module!r} ({type(e).__name__}: {e}); "
                         "is its package installed in this environment (pip install -e <folder>)?") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{spec!r}: module {module!r} has no attribute {attr!r}") from None
    return obj
