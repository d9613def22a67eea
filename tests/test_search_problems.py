"""Every searcher runs on the real problems (DRAM, accelerator) through one interface, and
the synthetic problems keep their contract (known optimum, reward 1 exactly there)."""

from __future__ import annotations

import numpy as np
import pytest
from archlab import search
from archlab.core.problem import Problem
from archlab.problems import synthetic
from search_helpers import FAST


@pytest.fixture(scope="module")
def dram():
    from archlab.problems.dram import DramProblem

    return DramProblem(trace="stream", objective="latency", n_requests=2000)


@pytest.mark.parametrize("name", search.names())
def test_every_searcher_runs_on_dram(dram, name):
    hp = dict(FAST.get(name, {}))
    if name == "nsga2":
        hp["objectives"] = ("makespan_ns", "energy_pJ")
    df = search.run(dram, search.make(name, dram.space, seed=1, **hp), 8)
    assert len(df) == 8 and df["reward"].between(0, 1).all()
    assert {"makespan_ns", "reward", "best_reward", "wall_s", *dram.space.names} <= set(df.columns)
    assert all(dram.space.contains(c) for c in df[dram.space.names].to_dict("records"))


@pytest.mark.parametrize("name", search.names())
def test_every_searcher_handles_the_accel_space(name):
    """ZigZag evaluations take seconds, so this checks the interface on AccelProblem's real
    space with a stand-in reward (closeness to the tpu_like default point)."""
    from archlab.problems.accel.problem import AccelProblem

    space = AccelProblem(cache=False).space
    ref = space.to_index(space.default())
    s = search.make(name, space, seed=0, **FAST.get(name, {}))
    for _ in range(8):
        c = s.ask()
        assert space.contains(c)
        s.tell(c, float(np.mean(space.to_index(c) == ref)), {})


@pytest.mark.parametrize("name", sorted(synthetic.PROBLEMS))
def test_synthetic_optimum_is_unique_and_rewarded(name):
    p = synthetic.make_problem(name, seed=3)
    assert isinstance(p, Problem)
    assert p.reward(p.evaluate(p.optimum)) == 1.0
    rng = np.random.default_rng(0)
    for _ in range(300):
        c = p.space.sample(rng)
        if c != p.optimum:
            assert p.reward(p.evaluate(c)) < 1.0
    assert synthetic.make_problem(name, seed=4).optimum != p.optimum or name == "synthetic-trap"
    with pytest.raises(KeyError, match="allowed: synthetic-separable"):
        synthetic.make_problem("synthetic-nope")


def test_trap_is_deceptive():
    p = synthetic.make_problem("synthetic-trap", blocks=1, block_size=4, seed=0)
    opt = p.space.to_index(p.optimum)
    costs = []
    for k in range(5):  # flip k bits away from the optimum
        idx = opt.copy()
        idx[:k] = 1 - idx[:k]
        costs.append(p.evaluate(p.space.from_index(idx))["cost_au"])
    assert costs[0] == 1.0 and costs[1] > costs[2] > costs[3] > costs[4] > costs[0]


@pytest.fixture(scope="module")
def accel(tmp_path_factory):
    from archlab.problems.accel.problem import AccelProblem

    return AccelProblem(workload="resnet18:conv2", objective="energy", workers=1,
                        cache_root=str(tmp_path_factory.mktemp("accel_cache")))


@pytest.mark.slow
@pytest.mark.parametrize("name", search.names())
def test_every_searcher_runs_on_accel(accel, name):
    """Real ZigZag evaluations (seconds each): a short run per searcher."""
    df = search.run(accel, search.make(name, accel.space, seed=1, **FAST.get(name, {})), 3)
    assert len(df) == 3 and df["reward"].between(0, 1).all() and "energy_pJ" in df.columns
