"""Shared fixtures for the search tests: a small mixed space and fast hyperparameters."""

from __future__ import annotations

from archlab.core.space import Categorical, Integer, Ordinal, Space

SMALL = Space([
    Categorical("policy", choices=("open", "closed", "adaptive")),
    Ordinal("queue", levels=(1, 2, 4, 8)),
    Integer("banks", low=1, high=5),
    Categorical("flag", choices=(True, False)),
])

# hyperparameters that keep the model-based searchers quick in tests
FAST: dict[str, dict] = {
    "bo": {"n_init": 4, "fit_maxiter": 10, "refit_every": 5, "pool_size": 256, "n_local": 16, "local_rounds": 1},
    "ppo": {"batch": 8, "epochs": 2},
    "marl": {"batch": 8, "epochs": 2},
    "nsga2": {"population": 6},
    "tpe": {"n_startup_trials": 4},
    "ga": {"population": 6},
    "aco": {"ants": 6},
}
