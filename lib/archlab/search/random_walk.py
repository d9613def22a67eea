"""Random walk on the index lattice (ArchGym's baseline agent family).

ArchGym's "random walker" draws every action independently (that is ``random`` here, or
``restart_prob=1``). The textbook random walk moves from the current point to a random
neighbour: ``n_changes`` knobs change, ordered (ordinal/integer) knobs by at most ``step``
levels, categorical knobs to another choice. ``accept="better"`` turns it into a
stochastic hill climber (move only when the reward does not drop).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archlab.core.space import Categorical, Config, Integer, Real, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice


@register
class RandomWalk(Searcher):
    """Neighbourhood random walk with optional restarts and greedy acceptance."""

    name = "random_walk"
    hyperparameters = Space([
        Integer("n_changes", low=1, high=8, default=1),
        Integer("step", low=1, high=8, default=1),
        Real("restart_prob", low=0.0, high=1.0, default=0.0),
        Categorical("accept", choices=("always", "better"), default="always"),
    ])

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self.current = None  # index vector of the walker
        self.current_reward = -1.0

    def _ask(self) -> Config:
        lat, rng = self.lat, self.rng
        if self.current is None or rng.random() < self.hp["restart_prob"]:
            idx = lat.sample(rng)
        else:
            idx = self.current.copy()
            k = min(self.hp["n_changes"], lat.d)
            knobs = rng.choice(lat.d, size=k, replace=False) if k > 1 else [int(rng.random() * lat.d)]
            for i in knobs:
                idx[i] = lat.mutate_knob(rng, int(i), int(idx[i]), self.hp["step"])
        if self.hp["accept"] == "always" or self.current is None:
            self.current = idx
        return lat.decode(idx)

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        idx = self.lat.encode(config)  # validates the config
        if self.hp["accept"] == "better" and reward >= self.current_reward:
            self.current, self.current_reward = idx, float(reward)
