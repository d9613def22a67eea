"""Uniform random search: the simplest baseline."""

from __future__ import annotations

from archlab.search.base import Searcher, register
from archlab.space import Config, Space


@register
class RandomSearch(Searcher):
    """Independent uniform samples of the space."""

    name = "random"
    hyperparameters = Space([])

    def _ask(self) -> Config:
        return self.space.sample(self.rng)
