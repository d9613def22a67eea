"""Design-space types shared by problems and searchers.

A :class:`Space` is an ordered list of named dimensions. Every discrete dimension
(categorical, ordinal, integer) has a finite list of ``values``; searchers work on the
*index* of a value (``0 .. n-1``), which is the one encoding all of them share.
Real dimensions (optionally log-scaled) exist for searcher hyperparameters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Config = dict[str, Any]


class SpaceError(ValueError):
    """A configuration does not fit its space (names the key and the allowed values)."""


@dataclass(frozen=True)
class Dimension:
    """Base class: one named knob."""

    name: str
    default: Any = None

    # discrete dimensions override these
    @property
    def values(self) -> tuple:  # pragma: no cover - overridden
        raise TypeError(f"{self.name}: a real dimension has no finite value list")

    @property
    def n(self) -> int | None:
        return len(self.values)

    @property
    def is_discrete(self) -> bool:
        return True

    def index_of(self, value: Any) -> int:
        try:
            return self.values.index(value)
        except ValueError:
            raise SpaceError(
                f"{self.name}: {value!r} is not allowed; allowed: {self.describe()}"
            ) from None

    def value_at(self, index: int) -> Any:
        return self.values[int(index)]

    def validate(self, value: Any) -> Any:
        """Return the canonical value, or raise :class:`SpaceError`."""
        return self.value_at(self.index_of(self._coerce(value)))

    def _coerce(self, value: Any) -> Any:
        return value

    def sample(self, rng: np.random.Generator) -> Any:
        return self.value_at(rng.integers(self.n))

    def to_unit(self, value: Any) -> float:
        """Map a value to [0, 1] (index / (n - 1))."""
        n = self.n
        return 0.0 if n == 1 else self.index_of(value) / (n - 1)

    def from_unit(self, u: float) -> Any:
        n = self.n
        return self.value_at(min(n - 1, max(0, int(round(float(u) * (n - 1))))))

    def describe(self) -> str:
        return ", ".join(map(repr, self.values))

    @property
    def initial(self) -> Any:
        """The default if declared, else the first value."""
        return self.values[0] if self.default is None else self.default


@dataclass(frozen=True)
class Categorical(Dimension):
    """Unordered choices (e.g. ``PagePolicy``)."""

    choices: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(self.choices))
        if not self.choices:
            raise SpaceError(f"{self.name}: a categorical dimension needs choices")

    @property
    def values(self) -> tuple:
        return self.choices


@dataclass(frozen=True)
class Ordinal(Dimension):
    """Ordered numeric levels (e.g. ``MaxActiveTransactions`` in 1, 2, 4, ..., 128)."""

    levels: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if list(self.levels) != sorted(self.levels) or not self.levels:
            raise SpaceError(f"{self.name}: ordinal levels must be non-empty and sorted")

    @property
    def values(self) -> tuple:
        return self.levels

    def _coerce(self, value: Any) -> Any:
        return _as_number(value)


@dataclass(frozen=True)
class Integer(Dimension):
    """Integers ``low..high`` inclusive."""

    low: int = 0
    high: int = 0

    def __post_init__(self) -> None:
        if self.high < self.low:
            raise SpaceError(f"{self.name}: empty integer range {self.low}..{self.high}")

    @property
    def values(self) -> tuple:
        return tuple(range(self.low, self.high + 1))

    @property
    def n(self) -> int:
        return self.high - self.low + 1

    def index_of(self, value: Any) -> int:
        if isinstance(value, bool) or not float(value).is_integer() or not (
            self.low <= value <= self.high
        ):
            raise SpaceError(f"{self.name}: {value!r} is not allowed; allowed: {self.describe()}")
        return int(value) - self.low

    def value_at(self, index: int) -> int:
        return self.low + int(index)

    def _coerce(self, value: Any) -> Any:
        return _as_number(value)

    def describe(self) -> str:
        return f"integers {self.low}..{self.high}"


@dataclass(frozen=True)
class Real(Dimension):
    """A real interval, optionally log-scaled (for hyperparameters such as a learning rate)."""

    low: float = 0.0
    high: float = 1.0
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low < self.high or (self.log and self.low <= 0):
            raise SpaceError(f"{self.name}: bad real range {self.low}..{self.high} (log={self.log})")

    @property
    def is_discrete(self) -> bool:
        return False

    @property
    def n(self) -> None:
        return None

    def validate(self, value: Any) -> float:
        v = _as_number(value)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
            self.low <= v <= self.high
        ):
            raise SpaceError(f"{self.name}: {value!r} is not allowed; allowed: {self.describe()}")
        return float(v)

    def sample(self, rng: np.random.Generator) -> float:
        return self.from_unit(rng.random())

    def to_unit(self, value: Any) -> float:
        v = self.validate(value)
        if self.log:
            return (math.log(v) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))
        return (v - self.low) / (self.high - self.low)

    def from_unit(self, u: float) -> float:
        u = min(1.0, max(0.0, float(u)))
        if self.log:
            return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))
        return float(self.low + u * (self.high - self.low))

    def describe(self) -> str:
        return f"reals in [{self.low}, {self.high}]" + (" (log scale)" if self.log else "")

    @property
    def initial(self) -> float:
        return self.from_unit(0.5) if self.default is None else self.default


def _as_number(value: Any) -> Any:
    """Accept numeric strings from the CLI (``"4"`` -> 4, ``"0.5"`` -> 0.5)."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                return float(value)
            except ValueError:
                return value
    return value


@dataclass(frozen=True)
class Space:
    """An ordered collection of dimensions."""

    dims: tuple[Dimension, ...] = field(default_factory=tuple)

    def __init__(self, dims: Iterable[Dimension]) -> None:
        dims = tuple(dims)
        names = [d.name for d in dims]
        if len(set(names)) != len(names):
            raise SpaceError(f"duplicate dimension names in {names}")
        object.__setattr__(self, "dims", dims)

    def __len__(self) -> int:
        return len(self.dims)

    def __iter__(self):
        return iter(self.dims)

    def __getitem__(self, name: str) -> Dimension:
        for d in self.dims:
            if d.name == name:
                return d
        raise SpaceError(f"unknown knob {name!r}; allowed: {', '.join(self.names)}")

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dims]

    @property
    def is_discrete(self) -> bool:
        return all(d.is_discrete for d in self.dims)

    @property
    def cardinalities(self) -> list[int | None]:
        return [d.n for d in self.dims]

    @property
    def size(self) -> float:
        """Number of points (``inf`` when a dimension is real)."""
        return math.prod(d.n for d in self.dims) if self.is_discrete else math.inf

    def validate(self, config: Config, *, partial: bool = False) -> Config:
        """Canonical copy of ``config``; unknown or missing keys and bad values raise."""
        unknown = sorted(set(config) - set(self.names))
        if unknown:
            raise SpaceError(f"unknown knob(s) {unknown}; allowed: {', '.join(self.names)}")
        if not partial:
            missing = [n for n in self.names if n not in config]
            if missing:
                raise SpaceError(f"missing knob(s) {missing}")
        return {d.name: d.validate(config[d.name]) for d in self.dims if d.name in config}

    def contains(self, config: Config) -> bool:
        try:
            self.validate(config)
        except (SpaceError, TypeError, ValueError):
            return False
        return True

    def default(self) -> Config:
        return {d.name: d.initial for d in self.dims}

    def with_defaults(self, overrides: Config) -> Config:
        """Defaults with ``overrides`` applied and validated."""
        return self.validate({**self.default(), **self.validate(overrides, partial=True)})

    def sample(self, rng: np.random.Generator) -> Config:
        return {d.name: d.sample(rng) for d in self.dims}

    def sample_many(self, rng: np.random.Generator, n: int) -> list[Config]:
        return [self.sample(rng) for _ in range(n)]

    def to_index(self, config: Config) -> np.ndarray:
        """Integer index vector of a discrete config."""
        return np.array([d.index_of(config[d.name]) for d in self.dims], dtype=np.int64)

    def from_index(self, index: Sequence[int]) -> Config:
        return {d.name: d.value_at(i) for d, i in zip(self.dims, index)}

    def to_unit(self, config: Config) -> np.ndarray:
        """Vector in [0, 1]^d (index / (n - 1) for discrete dims)."""
        return np.array([d.to_unit(config[d.name]) for d in self.dims], dtype=float)

    def from_unit(self, u: Sequence[float]) -> Config:
        return {d.name: d.from_unit(x) for d, x in zip(self.dims, u)}

    def key(self, config: Config) -> tuple:
        """Hashable key of a config (for de-duplication)."""
        return tuple(config[n] for n in self.names)
