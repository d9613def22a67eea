"""Plugins: searchers and problems from other installed packages, found through entry points.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."archlab.searchers"]
    one_plus_one = "my_searcher:OnePlusOne"        # a Searcher subclass, name = "one_plus_one"

    [project.entry-points."archlab.problems"]
    toy-onemax = "my_searcher.toy:ToyProblem"       # factory(workload=, objective=, target=, **extra)

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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SEARCHERS = "archlab.searchers"
PROBLEMS = "archlab.problems"


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
        """How a message names it: entry point, group and package."""
        return (f"entry point '{self.name} = {self.value}' in group '{self.group}' "
                f"of package '{self.dist}' {self.version}")


def discover(group: str) -> list[tuple[Plugin, md.EntryPoint]]:
    """Every entry point of ``group`` in the installed distributions (nothing imported)."""
    importlib.invalidate_caches()  # a package installed since this process started is seen
    out = []
    for ep in md.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        meta = dist.metadata if dist is not None else None
        name = meta["Name"] if meta is not None and meta["Name"] else "?"
        version = dist.version if dist is not None else "?"
        out.append((Plugin(group, ep.name, ep.value, name, version), ep))
    return sorted(out, key=lambda p: (p[0].name, p[0].dist))


def load_group(group: str, validate: Callable[[Plugin, Any], None]
               ) -> tuple[dict[str, tuple[Plugin, Any]], dict[str, str]]:
    """Import every plugin of ``group``.

    ``validate(plugin, obj)`` raises ``TypeError``/``ValueError`` with what to fix when the
    loaded object is not acceptable. Returns ``(loaded, errors)``: ``name -> (plugin, obj)``
    for the good ones and ``name -> message`` for the broken ones (a name declared by two
    packages is an error for both: the registry cannot choose).
    """
    found = discover(group)
    by_name: dict[str, list[tuple[Plugin, md.EntryPoint]]] = {}
    for plugin, ep in found:
        by_name.setdefault(plugin.name, []).append((plugin, ep))
    loaded: dict[str, tuple[Plugin, Any]] = {}
    errors: dict[str, str] = {}
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
            errors[name] = (f"plugin {name!r} failed to load ({plugin.where}): "
                            f"{type(e).__name__}: {e}. Fix or uninstall package '{plugin.dist}'.")
            continue
        try:
            validate(plugin, obj)
        except (TypeError, ValueError) as e:
            errors[name] = f"plugin {name!r} is not usable ({plugin.where}): {e}"
            continue
        loaded[name] = (plugin, obj)
    return loaded, errors


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
