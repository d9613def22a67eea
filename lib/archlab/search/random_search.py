"""Uniform random search: the simplest baseline."""

from __future__ import annotations

from typing import Any

from archlab.core.space import Config, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice


@register
class RandomSearch(Searcher):
    """Independent uniform samples of the space (one vectorized draw per ask on discrete spaces)."""

    name = "random"
    hyperparameters = Space([])

    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        super().__init__(space, seed, **hp)
        self._lattice = Lattice(space, self.name) if space.is_discrete and len(space) else None

    def _ask(self) -> Config:
        if self._lattice is None:
            return self.space.sample(self.rng)
        return self._lattice.decode(self._lattice.sample(self.rng))
