"""Ask/tell searcher interface, the registry, and the evaluation loop ``run``."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from archlab.core.plugins import SEARCHERS, PluginSet
from archlab.core.problem import Problem
from archlab.core.space import Config, Space, SpaceError

_REGISTRY: dict[str, type[Searcher]] = {}


class Searcher:
    """Base class. Subclasses set ``name`` and ``hyperparameters`` (a :class:`Space` whose
    dimensions carry defaults) and implement ``_ask`` / ``tell``.

    ``Searcher(space, seed=0, **hp)``: every random choice comes from ``self.rng``,
    seeded from ``seed``; unknown or out-of-range hyperparameters raise ``SpaceError``
    naming the key and the allowed values.
    """

    name: ClassVar[str] = ""
    hyperparameters: ClassVar[Space] = Space([])

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        self.space = space
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.hp = self.resolve_hyperparameters(hp)

    @classmethod
    def resolve_hyperparameters(cls, hp: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``hp``, validated against the declared space."""
        unknown = sorted(set(hp) - set(cls.hyperparameters.names))
        if unknown:
            allowed = ", ".join(cls.hyperparameters.names) or "(none)"
            raise SpaceError(f"searcher {cls.name!r}: unknown hyperparameter(s) {unknown}; "
                             f"allowed: {allowed}")
        try:
            return cls.hyperparameters.with_defaults(dict(hp))
        except SpaceError as e:
            raise SpaceError(f"searcher {cls.name!r}: {e}") from None

    def ask(self) -> Config:
        """Next configuration to evaluate (always inside ``space``)."""
        return self._ask()

    def ask_batch(self, n: int) -> list[Config]:
        """``n`` configurations; algorithms with natural batches override this."""
        return [self.ask() for _ in range(n)]

    def _ask(self) -> Config:  # pragma: no cover - abstract
        raise NotImplementedError

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        """Report the reward (in [0, 1], higher is better) of an asked configuration."""


def register(cls: type[Searcher]) -> type[Searcher]:
    """Class decorator: add a searcher to the registry under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"searcher name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


# Plugins: entry points of group "archlab.searchers" (archlab.core.plugins), loaded on the
# first lookup in each process. A broken plugin is kept as an error under its name.
def _validate_plugin(plugin: Any, obj: Any) -> None:
    if not (isinstance(obj, type) and issubclass(obj, Searcher)):
        raise TypeError(f"{plugin.value} is {obj!r}, not a subclass of archlab.search.Searcher")
    if obj.name != plugin.name:
        raise ValueError(f"class {obj.__qualname__} has name = {obj.name!r}; set name = {plugin.name!r} "
                         "(the entry point's name) or rename the entry point")
    if not isinstance(obj.hyperparameters, Space):
        raise TypeError(f"{obj.__qualname__}.hyperparameters must be an archlab.core.space.Space")


def _clash(name: str, plugin: Any, builtin: Any) -> str:
    return (f"plugin {name!r} ({plugin.where}) has the name of a built-in searcher "
            f"({builtin.__module__}); the built-in is kept: rename the entry point and the class's name")


_PLUGINS = PluginSet(SEARCHERS, _REGISTRY, _validate_plugin, _clash)


def reload_plugins() -> None:
    """Forget loaded plugins and look again on the next lookup (after a ``pip install``)."""
    _PLUGINS.reload()


def plugin_errors() -> dict[str, str]:
    """Searcher plugins that could not be loaded: name -> what went wrong and what to fix."""
    return _PLUGINS.error_messages()


def plugin_of(name: str) -> Any:
    """The :class:`archlab.core.plugins.Plugin` behind searcher ``name`` (None for a built-in)."""
    return _PLUGINS.plugin_of(name)


def names() -> list[str]:
    """Registered searcher names (built-ins and working plugins), sorted."""
    _PLUGINS.load()
    return sorted(_REGISTRY)


def get(name: str) -> type[Searcher]:
    """The searcher class registered as ``name``.

    ``KeyError`` for an unknown name; :class:`archlab.core.plugins.PluginError` (a
    ``KeyError``) naming the package and entry point for a plugin that failed to load.
    """
    _PLUGINS.load()
    try:
        return _REGISTRY[name]
    except KeyError:
        if name in _PLUGINS.errors:
            from archlab.core.plugins import PluginError

            raise PluginError(_PLUGINS.errors[name]) from None
        raise KeyError(f"unknown searcher {name!r}; allowed: {', '.join(names())}") from None


def make(name: str, space: Space, seed: int = 0, **hp: Any) -> Searcher:
    """Instantiate a registered searcher."""
    return get(name)(space, seed=seed, **hp)


def run(problem: Problem, searcher: Searcher, budget: int, *, eval_seed: int = 0,
        batch: int = 1, progress: bool = False) -> pd.DataFrame:
    """Ask/evaluate/tell for ``budget`` evaluations; one tidy row per evaluation.

    Columns: ``step``, one column per knob, every metric, ``reward``, ``best_reward``
    (best so far), ``wall_s`` (searcher + simulator time of that step).
    """
    from tqdm.auto import tqdm

    rows: list[dict[str, Any]] = []
    best = -np.inf
    bar = tqdm(total=budget, disable=not progress, desc=searcher.name)
    while len(rows) < budget:
        t0 = time.perf_counter()
        k = min(batch, budget - len(rows))
        configs = searcher.ask_batch(k) if k > 1 else [searcher.ask()]
        metrics = problem.evaluate_many(configs, seed=eval_seed)
        dt = (time.perf_counter() - t0) / len(configs)
        for config, m in zip(configs, metrics):
            r = problem.reward(m)
            t1 = time.perf_counter()
            searcher.tell(config, r, m)
            best = max(best, r)
            rows.append({"step": len(rows), **config, **m, "reward": r, "best_reward": best,
                         "wall_s": dt + time.perf_counter() - t1})
        bar.update(len(configs))
    bar.close()
    return pd.DataFrame(rows)
