"""Generational genetic algorithm on the index lattice.

Textbook form: a population of ``population`` individuals is evaluated; the next
generation keeps the ``elitism`` best, and fills the rest with children of parents
picked by ``tournament``-way tournament selection, recombined by uniform crossover with
probability ``crossover_rate``, then mutated knob-wise with probability ``mutation_rate``
(ordered knobs move by at most ``mutation_step`` levels, categorical knobs jump to
another choice). The first generation is uniform random. Children already evaluated are
re-mutated (up to a few tries) so the budget is not spent on duplicates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from archlab.core.space import Config, Integer, Real, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice


@register
class GeneticAlgorithm(Searcher):
    """Generational GA with tournament selection, uniform crossover and elitism."""

    name = "ga"
    hyperparameters = Space([
        Integer("population", low=4, high=128, default=24),
        Real("mutation_rate", low=0.0, high=1.0, default=0.15),
        Integer("mutation_step", low=1, high=8, default=1),
        Real("crossover_rate", low=0.0, high=1.0, default=0.8),
        Integer("elitism", low=0, high=16, default=2),
        Integer("tournament", low=1, high=8, default=3),
    ])

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self.queue: deque[np.ndarray] = deque()
        self.generation: list[tuple[tuple[int, ...], float]] = []  # evaluated children of this gen
        self.elites: list[tuple[tuple[int, ...], float]] = []  # best of the previous generation
        self.seen: set[tuple[int, ...]] = set()

    def _ask(self) -> Config:
        if not self.queue:
            self._next_generation()
        return self.lat.decode(self.queue.popleft())

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        key = self.lat.key(config)
        self.seen.add(key)
        self.generation.append((key, float(reward)))

    def _next_generation(self) -> None:
        pop = self.hp["population"]
        members = self.elites + self.generation  # this generation: carried elites + evaluated children
        if not members:  # first generation (or nothing told yet): uniform random
            self.queue.extend(self.lat.sample_many(self.rng, pop))
            return
        ranked = sorted(members, key=lambda kr: -kr[1])  # stable: ties keep insertion order
        # elites survive unchanged; they are already evaluated, so they are not asked again
        self.elites = ranked[: min(self.hp["elitism"], pop - 1)]
        self.generation = []
        for _ in range(pop - len(self.elites)):
            child = self._crossover(self._select(ranked), self._select(ranked))
            for _ in range(4):
                child = self._mutate(child)
                if tuple(child) not in self.seen:
                    break
            self.queue.append(child)

    def _select(self, ranked: list[tuple[tuple[int, ...], float]]) -> np.ndarray:
        n = len(ranked)
        picks = (self.rng.random(self.hp["tournament"]) * n).astype(int)
        return np.array(ranked[int(picks.min())][0])  # ranked best-first: min index wins

    def _crossover(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.rng.random() >= self.hp["crossover_rate"]:
            return a.copy()
        mask = self.rng.random(self.lat.d) < 0.5
        return np.where(mask, a, b)

    def _mutate(self, x: np.ndarray) -> np.ndarray:
        x = x.copy()
        hits = np.flatnonzero(self.rng.random(self.lat.d) < self.hp["mutation_rate"])
        for i in hits:
            x[i] = self.lat.mutate_knob(self.rng, int(i), int(x[i]), self.hp["mutation_step"])
        return x
