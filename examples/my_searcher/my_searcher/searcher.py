"""A (1+1) evolutionary algorithm as an archlab searcher (the whole plugin is this class)."""

from archlab.core.space import Real, Space
from archlab.search import Searcher


class OnePlusOne(Searcher):
    """(1+1)-EA: mutate the best configuration so far; keep the child if it is no worse."""

    name = "one_plus_one"  # the entry point's name
    hyperparameters = Space([Real("rate", low=0.5, high=4.0, default=1.0)])  # knobs mutated per step

    def __init__(self, space, seed=0, **hp):
        super().__init__(space, seed=seed, **hp)  # seeds self.rng, validates hp into self.hp
        self.parent, self.parent_reward = None, -1.0

    def _ask(self):
        if self.parent is None:
            return self.space.sample(self.rng)
        idx = self.space.to_index(self.parent)
        flip = self.rng.random(len(idx)) < self.hp["rate"] / len(idx)
        flip[self.rng.integers(len(idx))] = True  # change at least one knob
        for i, dim in enumerate(self.space):
            if flip[i] and dim.n > 1:
                idx[i] = (idx[i] + self.rng.integers(1, dim.n)) % dim.n  # another value
        return self.space.from_index(idx)

    def tell(self, config, reward, metrics=None):
        config = self.space.validate(config)  # rejects configurations outside the space
        if reward >= self.parent_reward:
            self.parent, self.parent_reward = config, reward
