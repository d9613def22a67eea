"""The marl study: ArchGym-style MARL and single-agent PPO searchers, the paired statistics and
the verdict rule, and a smoke run of ``studies.marl.run``."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from archlab import search
from archlab.core import params
from archlab.core.space import Categorical, Integer, Ordinal, Space
from archlab.problems import synthetic
from archlab.studies.marl import run as marl

SPACE = Space([Categorical("c", choices=("x", "y", "z")), Ordinal("o", levels=(1, 2, 4, 8)),
               Integer("i", low=1, high=5)])


def smoke_params():
    raw = params.read()["marl"]
    values = params.deep_merge({k: v for k, v in raw.items() if k != "profiles"}, raw["profiles"]["smoke"])
    return params.model_for("marl").model_validate(values)


def test_ppo_archgym_bins_the_continuous_action_per_knob():
    s = search.make("ppo_archgym", SPACE, seed=0)
    a = np.array([-1.0, -0.01, 1.0])
    assert s.bins(a).tolist() == [0, 1, 4]  # 3 bins: [-1,-1/3) ..; 4 bins: -0.01 -> 2nd; 5 bins: 1.0 -> last
    assert s.bins(np.array([-5.0, 0.0, 5.0])).tolist() == [0, 2, 4]  # clipped to the box first
    edges = [s.bins(np.array([u, u, u]))[0] for u in np.linspace(-1, 1, 301)]
    assert np.bincount(edges).tolist() == pytest.approx([100, 100, 101], abs=1)  # equal-width bins


def test_marl_archgym_one_agent_per_knob_observing_the_last_metrics():
    s = search.make("marl_archgym", SPACE, seed=1)
    c = s.ask()
    assert s.net is None  # no observation size before the first tell: the initial (uniform) policy
    s.tell(c, 0.5, {"latency_ns": 100.0, "energy_pJ": 10.0})
    assert s.net.A == len(SPACE) and s.net.outs == [3, 4, 5]
    assert s.obs.tolist() == [0.0, 0.0]  # log(value / first value), sorted names: energy, latency
    c = s.ask()
    s.tell(c, 0.7, {"latency_ns": 50.0, "energy_pJ": 10.0 * np.e})
    assert s.obs == pytest.approx([1.0, np.log(0.5)])


@pytest.mark.parametrize("name", ["marl_archgym", "ppo_archgym"])
def test_archgym_searchers_learn(name):
    """On a separable bowl the mean reward of late evaluations clearly beats the first ones."""
    p = synthetic.make_problem("synthetic-separable", d=4, n=6, seed=3)
    df = search.run(p, search.make(name, p.space, seed=0, batch=32), 1200)
    r = df["reward"].to_numpy()
    assert r[-200:].mean() > r[:100].mean() + 0.1


def test_verdict_rule():
    m = 0.01
    assert marl.verdict((0.02, 0.05), m) == "supported"
    assert marl.verdict((-0.05, -0.02), m) == "not supported"
    assert marl.verdict((-0.005, 0.008), m) == "not supported"  # equivalent within the margin
    assert marl.verdict((0.001, 0.008), m) == "not supported"   # above 0 but practically nil
    assert marl.verdict((-0.02, 0.03), m) == "inconclusive"


def _pairs(d_best: np.ndarray) -> pd.DataFrame:
    n = len(d_best)
    return pd.DataFrame({"task": [f"t{i % 4}" for i in range(n)], "seed": [i // 4 for i in range(n)],
                         "d_best": d_best})


def test_compare_known_answers():
    P = SimpleNamespace(bootstrap_resamples=500, ci=0.95, alpha=0.05, power=0.8, equivalence_margin=0.01)
    rng = np.random.default_rng(0)
    up = marl.compare(_pairs(0.05 + 0.01 * rng.standard_normal(20)), "d_best", P, 0)
    assert up["verdict"] == "supported" and up["lo"] > 0 and up["wilcoxon_p"] < 0.001 and up["n"] == 20
    zero = marl.compare(_pairs(np.zeros(20)), "d_best", P, 0)
    assert zero["verdict"] == "not supported" and zero["wilcoxon_p"] == 1.0 and zero["mde"] == 0.0
    noisy = marl.compare(_pairs(0.3 * rng.standard_normal(20)), "d_best", P, 0)
    assert noisy["verdict"] == "inconclusive"
    # the MDE of a paired t-test at n=20, power 0.8, alpha 0.05 is about 0.66 sd
    assert noisy["mde"] == pytest.approx(0.66 * noisy["sd"], rel=0.03)


def test_exact_optimum_by_enumeration():
    p = synthetic.make_problem("synthetic-separable", d=3, n=4, seed=1)
    assert marl.exact_optimum(p, 1000) == {"cost_au": 1.0}
    with pytest.raises(ValueError, match="enumerate_limit"):
        marl.exact_optimum(p, 10)


def test_run_seeds_per_task_shared_by_the_pair():
    """Seed index k gives each task its own searcher seed (tasks on one table share a space, so
    equal seeds would make their runs copies), and MARL and PPO of a pair the same one."""
    from archlab.sweep.plan import derive_seed

    P = SimpleNamespace(seed_offset=900, workloads=["dram/a", "dram/b"], objectives=["latency", "power"])
    C = SimpleNamespace(seed=2026)
    for k in range(3):
        seeds = [marl.run_seed(P, C, w, o, k) for w, o in marl.tasks(P)]
        assert len(set(seeds)) == len(seeds)
        assert seeds[0] == derive_seed(2026 + 900 + k, "dram/a:latency")
    assert marl.run_seed(P, C, "dram/a", "power", 0) != marl.run_seed(P, C, "dram/a", "power", 1)


def test_smoke_run(_isolated_outputs):
    P = smoke_params()
    C = SimpleNamespace(seed=2026, workers=1)
    R = marl.run(P, C)
    n = len(P.workloads) * len(P.objectives) * P.seeds
    runs = R.tables["runs"]
    assert len(runs) == 2 * n and set(runs["method"]) == {"marl", "ppo"}
    assert runs["best_score"].between(0, 1).all() and (runs["regret"] >= 0).all()
    assert [c.id for c in R.claims] == ["marl_beats_ppo_best", "marl_beats_ppo_auc"]
    for c in R.claims:
        assert c.n == n and c.ci[0] <= c.value <= c.ci[1] and c.verdict in ("supported", "not supported",
                                                                            "inconclusive")
        assert c.figure == "figures/marl/paired.png"
    for f in R.figures.values():
        assert f.is_file()
    # one searcher seed per (task, seed index): the pair shares it, tasks do not
    per = runs.groupby(["task", "seed"])["run_seed"].agg(["nunique", "first"])
    assert (per["nunique"] == 1).all() and per["first"].nunique() == len(per)
    doc = R.metrics_document()
    json.dumps(doc)
    assert doc["tests"]["d_best"]["n"] == n
    # cached runs: a second call computes nothing new and gives identical results
    R2 = marl.run(P, C)
    pd.testing.assert_frame_equal(R2.tables["runs"], runs)
