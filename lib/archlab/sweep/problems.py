"""Problem factories by name, so a sweep (and its ids) names problems in plain JSON.

``make_problem(name, workload=..., objective=..., target=...)`` builds a Problem:

* ``dram``      -> ``archlab.sims.dram.DramProblem(trace=workload, objective=..., target=...)``
* ``accel``     -> ``archlab.sims.accel.AccelProblem(workload=workload, objective=..., target=...)``
* ``synthetic`` -> :class:`SyntheticProblem` (cheap, deterministic; tests and benchmarks)

Imports are lazy: the real simulators load only when a sweep uses them. Register another
factory with :func:`register_problem`.
"""

from __future__ import annotations

import importlib
import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from archlab.problem import BaseProblem, Metrics
from archlab.space import Categorical, Config, Integer, Ordinal, Space

Factory = Callable[..., Any]
_FACTORIES: dict[str, Factory | str] = {
    "dram": "archlab.sims.dram:DramProblem:trace",
    "accel": "archlab.sims.accel:AccelProblem:workload",
    "synthetic": "archlab.sweep.problems:SyntheticProblem:workload",
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


class SyntheticProblem(BaseProblem):
    """A cheap rugged discrete problem with DRAM-like knobs (for tests and benchmarks).

    Cost = a workload-dependent separable bowl over 6 knobs plus pairwise interactions
    and a deterministic hash "noise" term; two metrics ``latency_ns`` and ``power_mW``.
    ``delay_s`` sleeps per evaluation to imitate a slower simulator (kill/resume tests).
    """

    KNOBS = {"PagePolicy": ("open", "closed", "open_adaptive", "closed_adaptive"),
             "Scheduler": ("FIFO", "FR-FCFS", "FR-FCFS_grp"),
             "MaxActiveTransactions": (1, 2, 4, 8, 16, 32, 64, 128),
             "RequestBufferSize": tuple(range(1, 9)),
             "RefreshMaxPostponed": tuple(range(1, 9)),
             "Arbiter": ("Simple", "Fifo", "Reorder")}

    def __init__(self, workload: str = "a", objective: str = "latency", target: Any = None,
                 delay_s: float = 0.0) -> None:
        self.space = Space([Categorical("PagePolicy", choices=self.KNOBS["PagePolicy"]),
                            Categorical("Scheduler", choices=self.KNOBS["Scheduler"]),
                            Ordinal("MaxActiveTransactions", levels=self.KNOBS["MaxActiveTransactions"]),
                            Integer("RequestBufferSize", low=1, high=8),
                            Integer("RefreshMaxPostponed", low=1, high=8),
                            Categorical("Arbiter", choices=self.KNOBS["Arbiter"])])
        names = {"latency": "latency_ns", "power": "power_mW"}
        parts = objective.split("+")
        bad = [p for p in parts if p not in names]
        if bad:
            raise ValueError(f"synthetic objective {objective!r}: unknown part(s) {bad}; allowed: latency, power")
        self.workload, self.objective, self.delay_s = workload, objective, float(delay_s)
        self.objectives = tuple(names[p] for p in parts)
        rng = np.random.default_rng(zlib.crc32(workload.encode()))
        self._opt = rng.random(len(self.space))
        self._w = 0.5 + rng.random(len(self.space))
        self._pair = rng.normal(0, 0.3, (len(self.space), len(self.space)))
        if target is None:
            target = {o: (60.0 if o == "latency_ns" else 300.0) for o in self.objectives}
        elif not isinstance(target, dict):
            target = {o: float(target) for o in self.objectives}
        self.target = {k: float(v) for k, v in target.items()}

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:
        if self.delay_s:
            time.sleep(self.delay_s)
        u = self.space.to_unit(self.space.validate(config))
        d = u - self._opt
        bowl = float((self._w * d * d).sum())
        inter = float(d @ self._pair @ d)
        key = zlib.crc32(repr(self.space.key(config)).encode() + self.workload.encode())
        bumps = ((key % 1000) / 1000.0) * 0.15
        lat = 40.0 * (1.0 + 1.5 * bowl + abs(inter) + bumps)
        power = 200.0 * (1.0 + 0.8 * float(u[2] + u[3]) / 2 + 0.5 * bowl + bumps)
        return {"latency_ns": lat, "power_mW": power}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "workload": self.workload}
