"""Small synthetic problems with a known optimum, for testing and calibrating searchers.

Every problem minimizes ``cost_au`` (arbitrary units) with ``cost_au >= 1`` and
``cost_au == 1`` exactly at the unique optimum ``problem.optimum``; the target is
``{"cost_au": 1.0}``, so the reward ``1 / cost_au`` is 1 exactly at the optimum.
The optimum's location is drawn from ``seed`` (so searchers cannot exploit defaults).

- ``synthetic-separable``: ``d`` ordered knobs (alternating Ordinal / Integer) with ``n``
  levels; quadratic bowl around a hidden index per knob.
- ``synthetic-trap``: Deb-Goldberg deceptive trap: ``blocks`` blocks of ``block_size``
  binary knobs XOR-ed with a hidden mask; within a block every step towards the optimum
  lowers the fitness until the last one (the gradient leads to the complement).
- ``synthetic-mixed``: ``n_cat`` categorical knobs with hidden per-choice penalties and
  ``n_ord`` ordinal knobs whose best level depends on the first categorical choice.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np

from archlab.core.problem import BaseProblem, Metrics
from archlab.core.space import Categorical, Config, Integer, Ordinal, Space


class _Synthetic(BaseProblem):
    objectives = ("cost_au",)
    name = ""

    def __init__(self, seed: int = 0) -> None:
        self.seed = int(seed)
        self.target = {"cost_au": 1.0}
        self._rng = np.random.default_rng(self.seed)

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:
        idx = self.space.to_index(self.space.validate(config))
        return {"cost_au": float(1.0 + self._excess(idx))}

    def _excess(self, idx: np.ndarray) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def optimum(self) -> Config:
        return self.space.from_index(self._opt)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "name": self.name, "seed": self.seed, **self._params}


class SeparableProblem(_Synthetic):
    """Quadratic bowl over ``d`` ordered knobs with ``n`` levels each."""

    name = "synthetic-separable"

    def __init__(self, d: int = 6, n: int = 8, seed: int = 0) -> None:
        super().__init__(seed)
        self._params = {"d": d, "n": n}
        self.space = Space([Ordinal(f"x{i}", levels=tuple(2**k for k in range(n))) if i % 2 == 0
                            else Integer(f"x{i}", low=1, high=n) for i in range(d)])
        self._opt = self._rng.integers(0, n, size=d)
        self._w = self._rng.uniform(0.5, 2.0, size=d)
        self._n = n

    def _excess(self, idx: np.ndarray) -> float:
        return float(np.sum(self._w * ((idx - self._opt) / max(self._n - 1, 1)) ** 2))


class TrapProblem(_Synthetic):
    """Concatenated deceptive traps over binary knobs."""

    name = "synthetic-trap"

    def __init__(self, blocks: int = 3, block_size: int = 4, seed: int = 0) -> None:
        super().__init__(seed)
        self._params = {"blocks": blocks, "block_size": block_size}
        d = blocks * block_size
        self.space = Space([Ordinal(f"b{i}", levels=(0, 1)) for i in range(d)])
        self._mask = self._rng.integers(0, 2, size=d)
        self._opt = 1 - self._mask  # all ones after XOR with the mask
        self._k, self._blocks = block_size, blocks

    def _excess(self, idx: np.ndarray) -> float:
        u = (idx ^ self._mask).reshape(self._blocks, self._k).sum(axis=1)
        f = np.where(u == self._k, self._k, self._k - 1 - u)
        return float(self._blocks * self._k - f.sum())


class MixedProblem(_Synthetic):
    """Categorical penalties plus ordinal bowls whose centre depends on a categorical knob."""

    name = "synthetic-mixed"

    def __init__(self, n_cat: int = 3, n_choices: int = 4, n_ord: int = 2, n_levels: int = 8,
                 seed: int = 0) -> None:
        super().__init__(seed)
        self._params = {"n_cat": n_cat, "n_choices": n_choices, "n_ord": n_ord, "n_levels": n_levels}
        dims = [Categorical(f"c{i}", choices=tuple(f"opt{j}" for j in range(n_choices)))
                for i in range(n_cat)]
        dims += [Ordinal(f"o{i}", levels=tuple(range(0, 4 * n_levels, 4))) for i in range(n_ord)]
        self.space = Space(dims)
        rng = self._rng
        self._pen = rng.uniform(0.3, 1.0, size=(n_cat, n_choices))
        best = rng.integers(0, n_choices, size=n_cat)
        self._pen[np.arange(n_cat), best] = 0.0
        self._centre = rng.integers(0, n_levels, size=(n_choices, n_ord))  # by choice of c0
        self._n_cat, self._n_levels = n_cat, n_levels
        self._opt = np.concatenate([best, self._centre[best[0]]])

    def _excess(self, idx: np.ndarray) -> float:
        cat, ords = idx[: self._n_cat], idx[self._n_cat:]
        pen = self._pen[np.arange(self._n_cat), cat].sum()
        c = self._centre[cat[0]]
        return float(pen + np.sum(((ords - c) / max(self._n_levels - 1, 1)) ** 2))


PROBLEMS: dict[str, Callable[..., _Synthetic]] = {
    p.name: p for p in (SeparableProblem, TrapProblem, MixedProblem)
}


def make_problem(name: str, **kwargs: Any) -> _Synthetic:
    """A synthetic problem by name (``synthetic-separable``, ``-trap``, ``-mixed``)."""
    try:
        cls = PROBLEMS[name]
    except KeyError:
        raise KeyError(f"unknown synthetic problem {name!r}; allowed: {', '.join(PROBLEMS)}") from None
    return cls(**kwargs)


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
