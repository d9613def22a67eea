"""Index-lattice view of a discrete space: the one encoding every searcher works on.

A config maps to an integer vector ``idx`` with ``0 <= idx[i] < cards[i]``. Categorical
knobs are unordered (``ordered[i]`` is False); ordinal and integer knobs are ordered, so
neighbourhood moves (``idx +- 1``) and unit scaling are meaningful for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from archlab.core.space import Categorical, Config, Space, SpaceError


class Lattice:
    """Fast encode/decode between configs and index vectors of a discrete ``space``."""

    def __init__(self, space: Space, searcher: str = "") -> None:
        if not space.is_discrete:
            reals = [d.name for d in space if not d.is_discrete]
            raise SpaceError(f"searcher {searcher!r} needs a discrete space; real knob(s) {reals} "
                             "(discretize them as Ordinal levels)")
        if len(space) == 0:
            raise SpaceError(f"searcher {searcher!r} needs at least one knob")
        self.space = space
        self.names = space.names
        self.values = [d.values for d in space]
        self.cards = np.array([d.n for d in space], dtype=np.int64)
        self.ordered = np.array([not isinstance(d, Categorical) for d in space], dtype=bool)
        self.d = len(self.names)
        self._lookup: list[dict[Any, int] | None] = []
        for vals in self.values:
            try:
                self._lookup.append({v: i for i, v in enumerate(vals)})
            except TypeError:  # unhashable choices: fall back to Dimension.index_of
                self._lookup.append(None)

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Index vector of ``config`` (validated; bad values raise :class:`SpaceError`)."""
        out = np.empty(self.d, dtype=np.int64)
        for i, (name, table) in enumerate(zip(self.names, self._lookup)):
            try:
                v = config[name]
            except KeyError:
                raise SpaceError(f"missing knob {name!r}") from None
            j = table.get(v) if table is not None else None
            if j is None or type(v) is bool:
                dim = self.space.dims[i]
                j = dim.index_of(dim.validate(v))
            out[i] = j
        return out

    def decode(self, idx: np.ndarray | list[int]) -> Config:
        """Config of an index vector."""
        return {n: vals[int(i)] for n, vals, i in zip(self.names, self.values, idx)}

    def key(self, config: Mapping[str, Any]) -> tuple[int, ...]:
        """Hashable index tuple of ``config``."""
        return tuple(int(i) for i in self.encode(config))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """Uniform random index vector."""
        return (rng.random(self.d) * self.cards).astype(np.int64)

    def sample_many(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return (rng.random((n, self.d)) * self.cards).astype(np.int64)

    def unit(self, idx: np.ndarray) -> np.ndarray:
        """Indices scaled to [0, 1] per knob (works on a vector or an ``(n, d)`` array)."""
        return idx / np.maximum(self.cards - 1, 1)

    def mutate_knob(self, rng: np.random.Generator, i: int, j: int, step: int = 1) -> int:
        """A different index for knob ``i`` (currently ``j``): ordered knobs move by at most
        ``step`` levels, categorical knobs jump to another choice uniformly."""
        n = int(self.cards[i])
        if n == 1:
            return j
        if self.ordered[i] and step < n - 1:
            lo, hi = max(0, j - step), min(n - 1, j + step)
            k = lo + int(rng.random() * (hi - lo))  # uniform over [lo, hi] minus j
            return k + 1 if k >= j else k
        k = int(rng.random() * (n - 1))
        return k + 1 if k >= j else k

    @property
    def size(self) -> int:
        return int(np.prod(self.cards.astype(float))) if self.d else 0

    def enumerate(self) -> np.ndarray:
        """Every index vector (only for small spaces)."""
        grids = np.meshgrid(*[np.arange(n) for n in self.cards], indexing="ij")
        return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)
