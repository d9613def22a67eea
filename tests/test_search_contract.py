"""One contract over every registered searcher (cf. Nevergrad's optimizer tests)."""

from __future__ import annotations

import numpy as np
import pytest
from archlab import search
from archlab.core.problem import BaseProblem
from archlab.core.space import SpaceError
from search_helpers import FAST, SMALL

BUDGET = 14


class Toy(BaseProblem):
    """Reward depends on every knob so learning searchers actually move."""

    space = SMALL
    objectives = ("cost_au", "area_mm2")
    target = {"cost_au": 1.0}

    def evaluate(self, config, seed=0):
        idx = self.space.to_index(config)
        return {"cost_au": 1.0 + float(np.abs(idx - np.array([1, 2, 3, 0])).sum()),
                "area_mm2": 1.0 + float(idx[2])}


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
    a = trajectory(name, seed=3)
    assert a == trajectory(name, seed=3), "same seed must give the same trajectory"
    assert a != trajectory(name, seed=4), "different seeds should differ"
    for config in a:
        assert SMALL.contains(dict(zip(SMALL.names, config)))


@pytest.mark.parametrize("name", search.names())
def test_hyperparameters_declared_and_validated(name):
    cls = search.get(name)
    defaults = cls.hyperparameters.default()
    assert cls.resolve_hyperparameters({}) == defaults
    with pytest.raises(SpaceError, match=rf"searcher '{name}': unknown hyperparameter\(s\) \['bogus'\]; allowed"):
        search.make(name, SMALL, bogus=1)
    for dim in cls.hyperparameters:
        bad = "not-a-choice" if dim.is_discrete and not isinstance(dim.initial, int) else 10**9
        with pytest.raises(SpaceError, match=rf"{dim.name}: .* not allowed; allowed:"):
            search.make(name, SMALL, **{dim.name: bad})


@pytest.mark.parametrize("name", search.names())
def test_batch_ask_and_interleaving_do_not_interfere(name):
    """Batches stay in the space; two searchers in one process do not disturb each other."""
    prob = Toy()
    solo = trajectory(name, seed=5, budget=10)
    import torch

    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    s1 = search.make(name, prob.space, seed=5, **FAST.get(name, {}))
    s2 = search.make(name, prob.space, seed=6, **FAST.get(name, {}))
    seen = []
    for _ in range(10):
        c1, c2 = s1.ask(), s2.ask()
        seen.append(tuple(c1.values()))
        for s, c in ((s1, c1), (s2, c2)):
            m = prob.evaluate(c)
            s.tell(c, prob.reward(m), m)
    assert seen == solo
    assert torch.equal(torch.rand(1), before), "searchers must not consume the global torch RNG"
    batch = s1.ask_batch(3)
    assert len(batch) == 3 and all(prob.space.contains(c) for c in batch)
    for c in batch:
        s1.tell(c, 0.5, prob.evaluate(c))


def test_tell_of_foreign_config_and_bad_config():
    for name in search.names():
        s = search.make(name, SMALL, seed=0, **FAST.get(name, {}))
        s.tell({"policy": "open", "queue": 8, "banks": 2, "flag": False}, 0.3, {"cost_au": 2.0})
        if name != "random":
            with pytest.raises(SpaceError, match="queue"):
                s.tell({"policy": "open", "queue": 3, "banks": 2, "flag": False}, 0.3, {"cost_au": 2.0})


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
