"""One contract over every registered searcher (cf. Nevergrad's optimizer tests).

The contract itself lives in :func:`archlab.core.checks.check_searcher` (what
``archlab check searcher`` runs for a plugin); this file runs it over the registry and keeps
the searcher-specific checks.
"""

from __future__ import annotations

import warnings

import pytest
from archlab import search
from archlab.core.checks import ContractError, ContractToy, ContractWarning, check_searcher
from archlab.core.space import SpaceError
from search_helpers import FAST

BUDGET = 14
Toy = ContractToy


def trajectory(name: str, seed: int, budget: int = BUDGET, **hp) -> list[tuple]:
    prob = Toy()
    df = search.run(prob, search.make(name, prob.space, seed=seed, **{**FAST.get(name, {}), **hp}), budget)
    assert len(df) == budget
    return [tuple(r) for r in df[prob.space.names].itertuples(index=False)]


def test_registry_lists_every_algorithm():
    assert {"random", "random_walk", "ga", "aco", "bo", "ppo", "marl", "tpe", "nsga2"} <= set(search.names())
    with pytest.raises(KeyError, match="unknown searcher 'nope'.*allowed: aco"):
        search.get("nope")


@pytest.mark.parametrize("name", search.names())
def test_contract(name):
    """Seeding, determinism, space membership, independent instances, global RNGs untouched,
    batches, tell semantics and hyperparameter validation (archlab.core.checks)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ContractWarning)
        report = check_searcher(search.get(name), hp=FAST.get(name, {}), budget=BUDGET)
    soft = [str(w.message) for w in caught if issubclass(w.category, ContractWarning)]
    # random search ignores tell() entirely, so it does not validate told configurations
    allowed = ["tell() accepted a configuration outside the space"] if name == "random" else []
    assert [m for m in soft if not any(a in m for a in allowed)] == []
    assert len(report.passed) >= 7 and report.timings["cpu_per_ask"] >= 0


def test_contract_catches_a_broken_searcher():
    class Unseeded(search.Searcher):
        name = "unseeded"

        def _ask(self):
            import numpy as np

            return self.space.sample(np.random.default_rng())

    with pytest.raises(ContractError, match="seed=3 asked different configurations.*self.rng"):
        check_searcher(Unseeded)


def test_nsga2_multiobjective_uses_metrics():
    prob = Toy()
    s = search.make("nsga2", prob.space, seed=0, objectives=("cost_au", "area_mm2"), population=6)
    assert s.study.directions[0].name == "MINIMIZE" and len(s.study.directions) == 2
    df = search.run(prob, s, 12)
    assert len(df) == 12 and len(s.study.trials) == 12
    c = s.ask()
    with pytest.raises(KeyError, match="area_mm2"):
        s.tell(c, 0.5, {"cost_au": 1.0})


def test_real_knobs_rejected_with_clear_error():
    from archlab.core.space import Real, Space

    space = Space([Real("x", low=0.0, high=1.0)])
    with pytest.raises(SpaceError, match=r"searcher 'ga' needs a discrete space; real knob\(s\) \['x'\]"):
        search.make("ga", space)


@pytest.mark.parametrize("name", ["ppo", "marl"])
def test_multi_step_formulation_is_seeded(name):
    a = trajectory(name, seed=1, budget=20, formulation="multi_step", episode_len=4)
    assert a == trajectory(name, seed=1, budget=20, formulation="multi_step", episode_len=4)
    assert a != trajectory(name, seed=1, budget=20)  # the observation changes the policy input
