"""Optuna baselines (TPE, NSGA-II) behind the ask/tell interface.

Each knob becomes an Optuna distribution over its *index* (the shared lattice encoding):
ordered knobs (ordinal, integer) an ``IntDistribution(0, n-1)`` so TPE models their order,
categorical knobs a ``CategoricalDistribution`` over indices. Optuna's ask/tell API drives
an in-memory study with a seeded sampler; pending trials are matched to ``tell`` by config
(FIFO), and a config told that was never asked is added as a finished trial.

Objectives: ``tpe`` maximizes the scalar reward. ``nsga2`` is multi-objective when built
with ``objectives=("latency_ns", "energy_pJ", ...)`` (constructor keyword, not a swept
hyperparameter): it minimizes those metrics, read from the ``metrics`` passed to ``tell``
(``tell`` raises naming the missing metric). Without ``objectives`` it runs NSGA-II on the
single reward (maximized), which is a plain elitist GA. The reward that ``run`` records is
unaffected either way, so NSGA-II traces remain comparable with every other searcher.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from archlab.core.space import Categorical, Config, Integer, Real, Space
from archlab.search.base import Searcher, register
from archlab.search.lattice import Lattice


class _OptunaSearcher(Searcher):
    def __init__(self, space: Space, seed: int = 0, **hp: Any) -> None:
        import optuna

        super().__init__(space, seed, **hp)
        self.lat = Lattice(space, self.name)
        self._dists = {
            name: (optuna.distributions.IntDistribution(0, int(n) - 1) if o
                   else optuna.distributions.CategoricalDistribution(list(range(int(n)))))
            for name, n, o in zip(self.lat.names, self.lat.cards, self.lat.ordered)
        }
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.study = optuna.create_study(sampler=self._sampler(), directions=self._directions())
        self.pending: dict[tuple[int, ...], deque] = {}

    def _sampler(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _directions(self) -> list[str]:
        return ["maximize"]

    def _values(self, reward: float, metrics: Mapping[str, float] | None) -> list[float]:
        return [float(reward)]

    def _ask(self) -> Config:
        trial = self.study.ask(self._dists)
        idx = [int(trial.params[n]) for n in self.lat.names]
        self.pending.setdefault(tuple(idx), deque()).append(trial)
        return self.lat.decode(idx)

    def tell(self, config: Config, reward: float, metrics: Mapping[str, float] | None = None) -> None:
        import optuna

        key = self.lat.key(config)
        values = self._values(reward, metrics)
        q = self.pending.get(key)
        if q:
            self.study.tell(q.popleft(), values)
        else:
            self.study.add_trial(optuna.trial.create_trial(
                params=dict(zip(self.lat.names, key)), distributions=self._dists, values=values))


@register
class TPE(_OptunaSearcher):
    """Optuna's Tree-structured Parzen Estimator (multivariate, seeded)."""

    name = "tpe"
    hyperparameters = Space([
        Integer("n_startup_trials", low=1, high=100, default=10),
        Integer("n_ei_candidates", low=4, high=256, default=24),
        Categorical("multivariate", choices=(True, False), default=True),
    ])

    def _sampler(self):
        import optuna

        with warnings.catch_warnings():  # multivariate TPE is flagged experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=self.seed, n_startup_trials=self.hp["n_startup_trials"],
                n_ei_candidates=self.hp["n_ei_candidates"], multivariate=self.hp["multivariate"])


@register
class NSGA2(_OptunaSearcher):
    """Optuna's NSGA-II; multi-objective over ``objectives`` metrics when given."""

    name = "nsga2"
    hyperparameters = Space([
        Integer("population", low=4, high=128, default=24),
        Real("mutation_prob", low=0.0, high=1.0, default=0.0),
        Real("crossover_prob", low=0.0, high=1.0, default=0.9),
        Real("swapping_prob", low=0.0, high=1.0, default=0.5),
    ])

    def __init__(self, space: Space, seed: int = 0, objectives: Sequence[str] | str | None = None,
                 **hp: Any) -> None:
        if isinstance(objectives, str):
            objectives = [o for o in objectives.split(",") if o]
        self.objectives = tuple(objectives or ())
        super().__init__(space, seed, **hp)

    def _sampler(self):
        import optuna

        mp = self.hp["mutation_prob"]
        return optuna.samplers.NSGAIISampler(
            seed=self.seed, population_size=self.hp["population"], mutation_prob=mp if mp > 0 else None,
            crossover_prob=self.hp["crossover_prob"], swapping_prob=self.hp["swapping_prob"])

    def _directions(self) -> list[str]:
        return ["minimize"] * len(self.objectives) if self.objectives else ["maximize"]

    def _values(self, reward: float, metrics: Mapping[str, float] | None) -> list[float]:
        if not self.objectives:
            return [float(reward)]
        metrics = metrics or {}
        missing = [o for o in self.objectives if o not in metrics]
        if missing:
            raise KeyError(f"searcher 'nsga2': objective metric(s) {missing} missing from tell(); "
                           f"have {sorted(metrics)}")
        return [float(metrics[o]) for o in self.objectives]
