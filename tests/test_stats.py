"""archlab.analysis.stats on synthetic data with known answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from archlab.analysis import stats as st


def test_share_ci_clopper_pearson_known_values():
    # 6/6: the exact lower bound is (0.025)^(1/6) = 0.5407
    iv = st.share_ci(6, 6)
    assert iv.value == 1.0 and iv.hi == 1.0
    assert iv.lo == pytest.approx(0.025 ** (1 / 6), abs=1e-6)
    # 0/10: upper bound 1 - 0.025^(1/10)
    iv = st.share_ci(0, 10)
    assert iv.lo == 0.0 and iv.hi == pytest.approx(1 - 0.025 ** 0.1, abs=1e-6)
    assert st.share_ci(5, 10).ci == pytest.approx((0.187086, 0.812914), abs=1e-5)
    with pytest.raises(ValueError, match="outside"):
        st.share_ci(3, 2)


def _nested_frame(rng, tasks=30, seeds=20, task_sd=1.0, seed_sd=0.5, mu=2.0):
    rows = []
    for t in range(tasks):
        m = mu + rng.normal(0, task_sd)
        for s in range(seeds):
            rows.append({"task": t, "seed": s, "y": m + rng.normal(0, seed_sd)})
    return pd.DataFrame(rows)


def test_hierarchical_bootstrap_matches_analytic_se():
    rng = np.random.default_rng(1)
    df = _nested_frame(rng)
    iv = st.hierarchical_bootstrap(df, "y", n_boot=4000, seed=0)
    # the SE of a mean of task means is sd(task means)/sqrt(T) (the seed stage adds a little)
    tm = df.groupby("task")["y"].mean()
    se = tm.std(ddof=1) / math.sqrt(len(tm))
    assert iv.value == pytest.approx(df["y"].mean())
    assert (iv.hi - iv.lo) / (2 * 1.96) == pytest.approx(se, rel=0.2)
    assert iv.n == 600


def test_hierarchical_bootstrap_coverage_and_bounds():
    # a bounded score (shares of 0/1 hits): the interval stays inside [0, 1]
    rng = np.random.default_rng(2)
    covered = 0
    for rep in range(60):
        p = rng.uniform(0.6, 0.99, size=8)  # task-level hit probabilities, mean ~0.795
        rows = [{"task": t, "seed": s, "hit": float(rng.random() < p[t])} for t in range(8) for s in range(5)]
        iv = st.hierarchical_bootstrap(pd.DataFrame(rows), "hit", n_boot=400, seed=rep)
        assert 0.0 <= iv.lo <= iv.value <= iv.hi <= 1.0
        covered += iv.lo <= 0.795 <= iv.hi
    assert covered >= 48  # nominal 95%, allow for bootstrap undercoverage at small n


def test_bootstrap_curve_bounded_and_ordered():
    rng = np.random.default_rng(3)
    rows = []
    for t in range(4):
        for s in range(3):
            x = np.maximum.accumulate(rng.uniform(0.0, 1.0, size=20))
            rows += [{"task": t, "seed": s, "step": i, "norm": v} for i, v in enumerate(x)]
    c = st.bootstrap_curve(pd.DataFrame(rows), "norm", "step", n_boot=300)
    assert len(c) == 20
    assert (c["lo"] <= c["mean"] + 1e-12).all() and (c["mean"] <= c["hi"] + 1e-12).all()
    assert c["hi"].max() <= 1.0 and c["lo"].min() >= 0.0
    assert np.all(np.diff(c["mean"]) >= -1e-12)


def test_auc_best_so_far():
    assert st.auc_best_so_far([0.5, 0.2, 1.0, 0.1]) == pytest.approx((0.5 + 0.5 + 1 + 1) / 4)
    assert st.auc_best_so_far([3, 4, 1], higher_is_better=False) == pytest.approx((3 + 3 + 1) / 3)
    assert st.auc_best_so_far([1.0]) == 1.0


def test_friedman_detects_a_real_difference_and_not_a_null():
    rng = np.random.default_rng(4)
    n = 40
    base = rng.normal(size=n)
    good = pd.DataFrame({"a": base + 1.0 + rng.normal(0, 0.3, n), "b": base + rng.normal(0, 0.3, n),
                         "c": base + rng.normal(0, 0.3, n)})
    r = st.friedman(good)
    assert r.pvalue < 1e-6
    assert r.ranks["a"] == pytest.approx(1.0, abs=0.1)
    sig = r.pairwise.set_index(["a", "b"])["significant"]
    assert sig[("a", "b")] and sig[("a", "c")] and not sig[("b", "c")]
    assert (r.pairwise["holm_p"] >= r.pairwise["wilcoxon_p"] - 1e-15).all()
    # Demšar 2006, table 5: q_0.05 for k = 3 is 2.343
    assert st.nemenyi_cd(3, 10) == pytest.approx(2.343 * math.sqrt(3 * 4 / 60), abs=2e-3)
    null = pd.DataFrame(rng.normal(size=(n, 3)), columns=list("xyz"))
    assert st.friedman(null).pvalue > 0.01
    assert abs(st.friedman(null).ranks.sum() - 6.0) < 1e-9  # ranks 1..3 average to 2


def test_friedman_ties_and_p_best():
    s = pd.DataFrame({"a": [1.0, 1.0, 0.5], "b": [1.0, 0.5, 0.5], "c": [0.2, 0.2, 0.2]})
    pb = st.p_best(s)
    assert pb.loc[0].tolist() == [0.5, 0.5, 0.0]
    assert pb.loc[1].tolist() == [1.0, 0.0, 0.0]
    assert pb.sum(axis=1).tolist() == [1.0, 1.0, 1.0]
    r = st.friedman(s)
    assert r.ranks["c"] == 3.0


def test_cd_diagram_draws():
    rng = np.random.default_rng(5)
    s = pd.DataFrame(rng.normal(size=(20, 4)) + np.arange(4), columns=list("abcd"))
    fig = st.cd_diagram(st.friedman(s))
    assert fig.axes
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_variance_components_recover_known_values():
    rng = np.random.default_rng(6)
    T, D, S = 12, 15, 8
    sd = {"task": 1.0, "draw": 0.6, "int": 0.3, "seed": 0.5}
    te, de = rng.normal(0, sd["task"], T), rng.normal(0, sd["draw"], D)
    ie = rng.normal(0, sd["int"], (T, D))
    rows = [{"task": t, "hp_draw": d, "seed": s, "y": te[t] + de[d] + ie[t, d] + rng.normal(0, sd["seed"])}
            for t in range(T) for d in range(D) for s in range(S)]
    vc = st.variance_components(pd.DataFrame(rows), "y").set_index("component")["variance"]
    assert vc["seed"] == pytest.approx(0.25, rel=0.1)
    assert vc["hp draw x task"] == pytest.approx(0.09, rel=0.4)
    assert vc["hp draw"] == pytest.approx(0.36, rel=0.6)
    assert vc["task"] == pytest.approx(1.0, rel=0.6)
    # no draw effect at all: its component is (near) zero
    rows = [{"task": t, "hp_draw": d, "seed": s, "y": te[t] + rng.normal(0, 0.5)}
            for t in range(T) for d in range(D) for s in range(S)]
    vc = st.variance_components(pd.DataFrame(rows), "y").set_index("component")
    assert vc.loc["hp draw", "share"] < 0.03 and vc.loc["hp draw x task", "share"] < 0.03
    assert vc["share"].sum() == pytest.approx(1.0)


def test_power_and_mde():
    # paired t: d = 0.5 needs ~34 pairs for 80% power (Cohen's tables)
    assert st.mde_paired(34) == pytest.approx(0.5, abs=0.02)
    assert st.mde_paired(34, sd_diff=0.2) == pytest.approx(0.1, abs=0.005)
    assert st.mde_paired(1) == float("inf")
    m50, m200 = st.mde_share(50, 0.3), st.mde_share(200, 0.3)
    assert 0 < m200 < m50 < 0.7
    # power of the Clopper–Pearson rule: at p = 1 every run hits, lower bound 0.025^(1/n)
    assert st.power_share_bound(20, 1.0, 0.8) == 1.0
    assert st.power_share_bound(10, 1.0, 0.8) == 0.0  # 0.025^(1/10) = 0.69 < 0.8
    n = st.n_for_share_bound(0.97, 0.8)
    assert st.power_share_bound(n, 0.97, 0.8) >= 0.8
    assert st.power_share_bound(n - 1, 0.97, 0.8) < 0.8 or n == 1
    with pytest.raises(ValueError):
        st.n_for_share_bound(0.5, 0.8)
