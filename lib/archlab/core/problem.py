"""The Problem protocol: a design space plus a pure evaluation function.

``evaluate(config, seed)`` returns a dict of named metrics whose names carry their units
(``makespan_ns``, ``energy_pJ``). It touches no files and no global state, so evaluations
may run in parallel processes. ``evaluate_many`` is the fast path (vectorized or batched).
``reward(metrics)`` is bounded in [0, 1] and equals 1 exactly when every target is met.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from archlab.core.space import Config, Space

Metrics = dict[str, float]


@runtime_checkable
class Problem(Protocol):
    """What searchers, sweeps and proxies rely on."""

    space: Space
    objectives: tuple[str, ...]
    target: dict[str, float]

    def evaluate(self, config: Config, seed: int = 0) -> Metrics: ...

    def evaluate_many(self, configs: Sequence[Config], seed: int = 0) -> list[Metrics]: ...

    def reward(self, metrics: Mapping[str, float]) -> float: ...


def target_reward(metrics: Mapping[str, float], target: Mapping[str, float]) -> float:
    """Bounded reward for minimized objectives.

    Per objective ``r_i = min(1, target_i / value_i)`` (1 when ``value_i <= target_i``,
    including ``value_i <= 0``), combined by the geometric mean. The result lies in
    [0, 1] and is 1 exactly when every objective meets its target. Never divides by zero.
    """
    if not target:
        raise ValueError("target_reward needs at least one objective target")
    logs = []
    for name, t in target.items():
        if name not in metrics:
            raise KeyError(f"metric {name!r} missing; have {sorted(metrics)}")
        v = float(metrics[name])
        if not t > 0:
            raise ValueError(f"target for {name!r} must be > 0, got {t!r}")
        if math.isnan(v):
            return 0.0
        logs.append(0.0 if v <= t else math.log(t) - math.log(v))
    return float(math.exp(sum(logs) / len(logs)))


class BaseProblem:
    """Convenience base: subclasses set ``space``, ``objectives``, ``target``, ``evaluate``."""

    space: Space
    objectives: tuple[str, ...] = ()
    target: dict[str, float] = {}

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:  # pragma: no cover
        raise NotImplementedError

    def evaluate_many(self, configs: Sequence[Config], seed: int = 0) -> list[Metrics]:
        return [self.evaluate(c, seed) for c in configs]

    def reward(self, metrics: Mapping[str, float]) -> float:
        return target_reward(metrics, self.target)

    def describe(self) -> dict[str, Any]:
        """A JSON-able identity of the problem (used in experiment ids)."""
        return {"class": type(self).__name__, "objectives": list(self.objectives),
                "target": dict(self.target)}
