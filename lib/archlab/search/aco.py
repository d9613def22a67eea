"""Ant colony optimization for discrete knob spaces (MAX-MIN Ant System with ACS choice).

Each knob ``i`` carries a pheromone vector ``tau[i]`` over its values, initialised to
``pheromone_init``. An ant builds a config knob by knob: with probability ``greediness``
(ACS's q0) it takes the value with the most pheromone, otherwise it samples
``p ~ tau^alpha`` (no problem heuristic is assumed, so eta = 1). After every colony of
``ants`` evaluations, pheromone evaporates (``tau <- (1 - evaporation) tau``) and the
iteration-best and best-so-far ants deposit their reward. Pheromone is kept inside
``[tau_max * min_ratio, tau_max]`` with ``tau_max = best_reward / evaporation`` (MMAS), so no
value ever becomes impossible.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from archlab.core.space import Config, Integer, Real, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice


@register
class AntColony(Searcher):
    """MMAS-style ant colony over per-knob pheromone tables."""

    name = "aco"
    hyperparameters = Space([
        Integer("ants", low=2, high=128, default=16),
        Real("evaporation", low=0.01, high=1.0, default=0.1),
        Real("greediness", low=0.0, high=1.0, default=0.1),
        Real("alpha", low=0.1, high=5.0, default=1.0),
        Real("pheromone_init", low=0.1, high=10.0, log=True, default=1.0),
        Real("min_ratio", low=0.0, high=0.5, default=0.02),
    ])

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self.tau = [np.full(int(n), self.hp["pheromone_init"]) for n in self.lat.cards]
        self._refresh()
        self.colony: list[tuple[np.ndarray, float]] = []
        self.best: tuple[np.ndarray, float] | None = None

    def _refresh(self) -> None:
        """Cache argmax and cumulative choice probabilities per knob."""
        a = self.hp["alpha"]
        cum = np.ones((self.lat.d, int(self.lat.cards.max())))  # padded with 1: never below u < 1
        for i, t in enumerate(self.tau):
            w = t**a
            cum[i, : len(t)] = np.cumsum(w) / w.sum()
        self._cum = cum
        self._argmax = np.array([int(np.argmax(t)) for t in self.tau])

    def _ask(self) -> Config:
        u = self.rng.random((2, self.lat.d))
        roulette = np.minimum((self._cum <= u[1][:, None]).sum(axis=1), self.lat.cards - 1)
        return self.lat.decode(np.where(u[0] < self.hp["greediness"], self._argmax, roulette))

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        idx = self.lat.encode(config)
        r = float(reward)
        self.colony.append((idx, r))
        if self.best is None or r > self.best[1]:
            self.best = (idx, r)
        if len(self.colony) >= self.hp["ants"]:
            self._update()

    def _update(self) -> None:
        rho = self.hp["evaporation"]
        it_best = max(self.colony, key=lambda ar: ar[1])
        self.colony = []
        tau_max = max(self.best[1], 1e-12) / rho
        tau_min = tau_max * self.hp["min_ratio"]
        for i, t in enumerate(self.tau):
            t *= 1.0 - rho
            t[it_best[0][i]] += it_best[1]
            t[self.best[0][i]] += self.best[1]
            np.clip(t, tau_min, tau_max, out=t)
        self._refresh()
