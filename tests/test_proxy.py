"""Proxy problems: feature encoding, ProxyProblem contract, training/evaluation helpers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from archlab import search
from archlab.core.params import ParamsError, load_section
from archlab.core.problem import Problem
from archlab.core.space import Categorical, Integer, Ordinal, Space, SpaceError
from archlab.problems.proxy import FeatureEncoder, ProxyProblem, plain_config
from archlab.problems.synthetic import SyntheticProblem
from archlab.studies.proxy.evaluate import (
    distinct_evaluations,
    errors,
    evals_per_second,
    fit_metrics,
    heldout_config_accuracy,
    heldout_workload_accuracy,
    make_regressor,
    speed_table,
    split_by_config,
)
from archlab.studies.proxy.search import (
    logged_target,
    mini_sweep_log,
    search_and_validate,
    uniform_evaluations,
)

METRICS = ["latency_ns", "power_mW"]


def _space() -> Space:
    return Space([Categorical("P", choices=("a", "b", "c")), Ordinal("M", levels=(1, 2, 4, 8)),
                  Integer("R", low=1, high=8)])


def test_encoder_one_hot_and_ordinal_index():
    enc = FeatureEncoder(_space())
    assert enc.columns == ("P=a", "P=b", "P=c", "M", "R")
    X = enc.transform([{"P": "b", "M": 8, "R": 3}, {"P": "a", "M": 1, "R": 8}])
    np.testing.assert_array_equal(X, [[0, 1, 0, 3, 3], [1, 0, 0, 0, 8]])


def test_encoder_bad_config_names_knob():
    with pytest.raises(SpaceError, match="P"):
        FeatureEncoder(_space()).transform([{"P": "z", "M": 1, "R": 1}])


def test_encoder_reads_store_frame_with_numpy_and_float_values():
    df = pd.DataFrame({"knob.P": ["c"], "knob.M": [np.int64(4)], "knob.R": [2.0], "other": [1]})
    enc = FeatureEncoder(_space())
    assert enc.configs_from_frame(df) == [{"P": "c", "M": 4, "R": 2}]
    with pytest.raises(SpaceError, match="knob.R"):
        enc.configs_from_frame(df.drop(columns=["knob.R"]))
    assert plain_config({"a": np.float64(3.0), "b": "x"}) == {"a": 3, "b": "x"}


class _CountingLinear:
    """A fitted 'regressor' that counts predict calls (any object with predict works)."""

    def __init__(self, w):
        self.w, self.calls = np.asarray(w, float), 0

    def predict(self, X):
        self.calls += 1
        return X @ self.w + 1.0


def test_proxy_problem_batches_one_predict_per_metric():
    sp = _space()
    lat, pw = _CountingLinear([1, 2, 3, 4, 5]), _CountingLinear([0, 0, 0, 1, 0])
    prob = ProxyProblem({"lat_ns": lat, "pow_mW": pw}, sp, ["lat_ns"], {"lat_ns": 5.0})
    assert isinstance(prob, Problem)
    configs = search.make("random", sp, seed=1).ask_batch(20)
    out = prob.evaluate_many(configs)
    assert lat.calls == 1 and pw.calls == 1 and len(out) == 20
    assert out[0] == prob.evaluate(configs[0])
    c = {"P": "a", "M": 1, "R": 1}  # features 1,0,0,0,1 -> lat = 1 + 5 + 1 = 7
    assert prob.evaluate(c)["lat_ns"] == pytest.approx(7.0)
    assert prob.reward(prob.evaluate(c)) == pytest.approx(5 / 7)
    assert prob.evaluate_many([]) == []
    d = prob.describe()
    assert d["regressors"]["lat_ns"]["class"] == "_CountingLinear" and d["target"] == {"lat_ns": 5.0}


def test_proxy_problem_rejects_bad_wiring():
    sp = _space()
    with pytest.raises(ValueError, match="objective.*'b_ns'"):
        ProxyProblem({"a_ns": _CountingLinear([0] * 5)}, sp, ["b_ns"])
    with pytest.raises(TypeError, match="no predict"):
        ProxyProblem({"a_ns": object()}, sp, ["a_ns"])
    with pytest.raises(ValueError, match="target metric"):
        ProxyProblem({"a_ns": _CountingLinear([0] * 5)}, sp, ["a_ns"], {"c_ns": 1.0})


def test_errors_known_values():
    e = errors(np.array([100.0, 200.0]), np.array([110.0, 180.0]))
    assert e["rmse"] == pytest.approx(np.sqrt((100 + 400) / 2))
    assert e["nrmse_pct"] == pytest.approx(100 * np.sqrt(250) / 150)
    assert e["mape_pct"] == pytest.approx(10.0)
    assert e["max_ape_pct"] == pytest.approx(10.0)
    perfect = errors(np.arange(1.0, 6.0), np.arange(1.0, 6.0))
    assert perfect["rmse"] == 0 and perfect["r2"] == 1 and perfect["spearman"] == pytest.approx(1)
    with pytest.raises(ValueError):
        errors(np.array([1.0]), np.array([1.0, 2.0]))


def test_split_by_config_keeps_duplicates_together():
    keys = ["a", "b", "a", "c", "d", "b", "e", "f"]
    mask = split_by_config(keys, 0.3, seed=3)
    for k in set(keys):
        assert len({m for kk, m in zip(keys, mask) if kk == k}) == 1
    assert 0 < mask.sum() < len(keys)
    np.testing.assert_array_equal(mask, split_by_config(keys, 0.3, seed=3))


@pytest.mark.parametrize("kind", ["rf", "gbr", "mlp"])
def test_regressors_learn_a_smooth_function(kind):
    rng = np.random.default_rng(0)
    X = rng.random((200, 3))
    y = np.exp(1 + X @ np.array([1.0, 0.5, -0.3]))
    models = fit_metrics(kind, X[:160], {"y": y[:160]}, seed=0, rf_trees=40, gbr_iter=80, mlp_hidden=(32,),
                         mlp_iter=200)
    e = errors(y[160:], models["y"].predict(X[160:]))
    assert e["mape_pct"] < 8 and e["spearman"] > 0.95
    with pytest.raises(ValueError, match="allowed: rf, gbr, mlp"):
        make_regressor("svm")


@pytest.fixture(scope="module")
def synthetic_log():
    make = lambda w, o: SyntheticProblem(workload=w, objective=o)  # noqa: E731
    return mini_sweep_log(make, ["a", "b"], "latency", ["random"], seeds=2, budget=100, seed0=5)


def test_mini_sweep_log_has_store_columns(synthetic_log):
    for col in ["workload", "objective", "searcher", "seed", "step", "knob.PagePolicy", "latency_ns", "reward"]:
        assert col in synthetic_log
    assert len(synthetic_log) == 2 * 2 * 100
    assert logged_target(synthetic_log, "a", "latency") == {"latency_ns": 60.0}
    assert logged_target(synthetic_log, "zz", "latency") is None


def test_accuracy_studies_on_synthetic_log(synthetic_log):
    sp = SyntheticProblem().space
    d = distinct_evaluations(synthetic_log, sp, METRICS)
    assert not d.duplicated(["workload", "config_key"]).any()
    assert d["n_logged"].sum() == len(synthetic_log)
    capped = distinct_evaluations(synthetic_log, sp, METRICS, cap=50, seed=1)
    assert capped.groupby("workload").size().tolist() == [50, 50]
    uni = distinct_evaluations(uniform_evaluations(SyntheticProblem("a"), 60, seed=9, workload="a"), sp, METRICS)
    err, pred, fitted = heldout_config_accuracy(d, sp, METRICS, ["rf", "gbr"], test_fraction=0.25, seed=1,
                                                extra_test=uni, rf_trees=30, gbr_iter=50)
    assert set(err["test_set"]) == {"logged", "uniform"} and set(err["model"]) == {"rf", "gbr"}
    assert set(fitted) == {(w, k) for w in "ab" for k in ("rf", "gbr")}
    assert (err.loc[err.test_set == "logged", "mape_pct"] < 25).all()
    assert len(pred) == err["n_test"].sum()
    lowo = heldout_workload_accuracy(d, sp, METRICS, ["rf"], seed=0, rf_trees=20)
    assert set(lowo["workload"]) == {"a", "b"} and (lowo["test_set"] == "heldout_workload").all()
    with pytest.raises(ValueError, match=">= 2 workloads"):
        heldout_workload_accuracy(d[d.workload == "a"], sp, METRICS, ["rf"])
    with pytest.raises(KeyError, match="latency_ns"):
        distinct_evaluations(synthetic_log.drop(columns=["latency_ns"]), sp, METRICS)


def test_search_on_proxy_is_validated_on_simulator(synthetic_log):
    sim = SyntheticProblem("a", target={"latency_ns": 70.0})
    d = distinct_evaluations(synthetic_log[synthetic_log.workload == "a"], sim.space, METRICS)
    X = FeatureEncoder(sim.space).transform_frame(d)
    models = fit_metrics("rf", X, {m: d[m].to_numpy() for m in METRICS}, seed=0, rf_trees=30)
    proxy = ProxyProblem.imitating(sim, models)
    assert proxy.target == sim.target and proxy.space is sim.space
    res = search_and_validate(proxy, sim, ["random"], [0, 1], budget=60, top_k=3)
    assert len(res) == 2 and (res["sim_evals_proxy"] == 3).all() and (res["sim_evals_direct"] == 60).all()
    assert (res["sim_reward_topk"] >= res["sim_reward_top1"]).all()
    for _, r in res.iterrows():  # the reported simulator numbers are real re-simulations
        cfg = json.loads(r["best_config"])
        assert sim.reward(sim.evaluate(cfg)) == pytest.approx(r["sim_reward_topk"])
    again = search_and_validate(proxy, sim, ["random"], [0, 1], budget=60, top_k=3)
    pd.testing.assert_frame_equal(res, again)


def test_speed_table_measures_both(synthetic_log):
    sim = SyntheticProblem("a")
    proxy = ProxyProblem.imitating(sim, {"latency_ns": _CountingLinear(np.ones(13)), "power_mW":
                                         _CountingLinear(np.ones(13))})
    configs = search.make("random", sim.space, seed=0).ask_batch(40)
    t = speed_table({"sim": sim, "proxy": proxy}, configs, repeats=1, single=5)
    assert set(t["problem"]) == {"sim", "proxy"} and (t["evals_per_s"] > 0).all()
    assert evals_per_second(proxy, configs, repeats=1) > 0


def test_proxy_params_section_validates():
    P = load_section("proxy", data={"proxy": {"profiles": {"smoke": {"rf_trees": 5}}}}, smoke=True)
    assert P.models == ["gbr"] and P.rf_trees == 5
    bad = {"proxy": {"models": ["svm"]}}
    with pytest.raises(ParamsError, match="proxy.models"):
        load_section("proxy", data=bad)
    with pytest.raises(ParamsError, match="claim_train"):
        load_section("proxy", data={"proxy": {"search": {"train_sizes": [100], "claim_train": 50}}})


# ---------------------------------------------------------------- the study on exact tables

def test_transform_columns_equals_transform():
    from archlab.problems.dram import KNOBS
    from archlab.problems.dram.table import distinct_configs

    frame, _ = distinct_configs()
    sample = frame.sample(300, random_state=0)
    enc = FeatureEncoder(KNOBS)
    configs = [plain_config(dict(zip(KNOBS.names, r))) for r in sample.itertuples(index=False)]
    assert np.array_equal(enc.transform_columns(sample), enc.transform(configs))
    with pytest.raises(SpaceError, match="lacks knob"):
        enc.transform_columns(sample.drop(columns=["Arbiter"]))


def test_weighted_sample_is_distinct_and_follows_weights():
    from archlab.studies.proxy.exact import weighted_sample

    w = np.array([0, 1, 1, 98], dtype=float)
    rng = np.random.default_rng(0)
    draws = [weighted_sample(w, 1, rng)[0] for _ in range(2000)]
    assert 0 not in draws
    assert 0.96 < np.mean(np.array(draws) == 3) < 1.0
    two = weighted_sample(w, 3, rng)
    assert sorted(two) == [1, 2, 3]
    with pytest.raises(ValueError, match="positive weight"):
        weighted_sample(w, 4, rng)


def test_random_search_simulations_exact():
    from archlab.studies.proxy.exact import random_search_simulations

    med, mean = random_search_simulations(0.01)
    assert mean == pytest.approx(100)
    assert 1 - 0.99 ** med >= 0.5 > 1 - 0.99 ** (med - 1)


def test_run_smoke_writes_claims_and_figures():
    """run() in smoke mode (tables built here) computes all three claims with a rule, n and CI."""
    from archlab.core import paths
    from archlab.studies.proxy import run

    P = load_section("proxy", smoke=True)
    C = load_section("common")
    R = run.run(P, C)
    assert {c.id for c in R.claims} == {"proxy_accuracy", "proxy_heldout_trace", "proxy_search_cost"}
    for c in R.claims:
        assert c.verdict in ("supported", "not supported", "inconclusive") and c.rule and c.n
        assert c.value is not None and c.ci is not None and c.ci[0] <= c.value <= c.ci[1]
    assert set(R.figures) == {"learning_curve", "heldout_trace", "search_cost"}
    for f in R.figures.values():
        assert f.is_file() and str(f).startswith(str(paths.out_root()))
    lc = R.tables["learning_curve"]
    assert sorted(lc["n_train"]) == sorted(P.train_sizes)
    sc = pd.read_csv(paths.data_dir("proxy") / "search_cost.csv")
    # training never contains a target-meeting configuration, and the count includes it
    assert (sc["simulations"] == sc["n_train"] + sc["verified"]).all()
    assert (sc["verified"] >= 1).all()
    assert R.metrics and all("time" not in k for k in R.metrics)
    R.write_metrics()
    doc = json.loads(paths.metrics_path("proxy").read_text())
    assert len(doc["claims"]) == 3


def test_restricted_proxy_predicts_only_requested_metrics():
    sp = _space()
    lat, pw = _CountingLinear([1, 0, 0, 0, 0]), _CountingLinear([0, 1, 0, 0, 0])
    prob = ProxyProblem({"lat_ns": lat, "pow_mW": pw}, sp, ["lat_ns"], {"lat_ns": 3.0}, threads=None)
    only = prob.restricted(["lat_ns"])
    out = only.evaluate_many([{"P": "a", "M": 1, "R": 1}] * 3)
    assert [set(m) for m in out] == [{"lat_ns"}] * 3 and pw.calls == 0
    assert only.target == {"lat_ns": 3.0} and only.objectives == ("lat_ns",)
    with pytest.raises(ValueError, match="no regressor"):
        prob.restricted(["x_ns"])


def test_cache_predicts_each_config_once():
    sp = _space()
    lat = _CountingLinear([1, 2, 3, 4, 5])
    cached = ProxyProblem({"lat_ns": lat}, sp, ["lat_ns"], cache=True)
    a, b = {"P": "a", "M": 1, "R": 1}, {"P": "b", "M": 2, "R": 2}
    first = cached.evaluate_many([a, b, a])
    assert lat.calls == 1 and first[0] == first[2]
    assert cached.evaluate(b) == first[1] and lat.calls == 1
    assert cached.evaluate({"P": "c", "M": 4, "R": 3}) and lat.calls == 2
    plain = ProxyProblem({"lat_ns": lat}, sp, ["lat_ns"])
    assert plain.evaluate_many([a, b]) == first[:2] and lat.calls == 3
    assert plain.restricted(["lat_ns"]).cache is None and cached.restricted(["lat_ns"]).cache == {}


def test_speed_of_memoizing_problem_is_timed_on_fresh_instances():
    built = []

    class Memo(SyntheticProblem):
        def __init__(self):
            super().__init__("a", delay_s=0.002)
            built.append(self)

    configs = search.make("random", SyntheticProblem().space, seed=0).ask_batch(10)
    eps = evals_per_second(Memo, configs, repeats=2)
    assert len(built) == 2 and eps < 1 / 0.002 * 1.01


def test_search_cost_trains_without_target_rows(monkeypatch):
    """The search test's proxy never sees a target-meeting configuration; its cost counts training."""
    from types import SimpleNamespace

    from archlab.core import paths
    from archlab.problems.table import canonical_configs, load_table, write_table
    from archlab.studies.proxy import exact
    from test_table import TOY, toy_canonical, toy_cost

    frame, w = canonical_configs(TOY, toy_canonical)
    frame["cost_au"] = [toy_cost(a, b) for a, b in zip(frame.a, frame.b)]
    frame["weight"] = w
    write_table(frame, paths.out_root() / "data" / "toy_tables" / "proxy.parquet",
                {"space": "test_table:TOY", "canonicalizer": "test_table:toy_canonical"})
    t = load_table("toy/proxy")
    seen = []
    real = exact.weighted_sample
    monkeypatch.setattr(exact, "weighted_sample", lambda weights, n, rng: seen.append(weights) or real(weights, n, rng))
    S = SimpleNamespace(objective="cost_au", p0=0.5, budget=3, train_sizes=[5], seeds=2, model="gbr", max_verify=100)
    P = SimpleNamespace(search=S, rf_trees=5, gbr_iter=10, mlp_hidden=[4], mlp_iter=10)
    X = exact.features(t)
    sc = exact.search_cost({"toy/proxy": t}, X, P, seed=0)
    d = t.target_for(0.5, 3, "cost_au")
    meets = t.column("cost_au") <= d.target["cost_au"]
    assert seen and all((np.asarray(wt)[meets] == 0).all() for wt in seen)
    assert (sc["simulations"] == sc["n_train"] + sc["verified"]).all() and sc["hit"].all()
    med, _ = exact.random_search_simulations(d.share)
    assert (sc["random_median"] == med).all()


def _claim_params():
    from types import SimpleNamespace

    claims = SimpleNamespace(ci=0.95, bootstrap=2000, max_nrmse_pct=1.0, min_speedup=1.0)
    search_p = SimpleNamespace(claim_train=100, budget=50, p0=0.5, model="gbr", max_verify=1000)
    P = SimpleNamespace(metrics=["makespan_ns"], models=["gbr"], repeats=3, claims=claims, search=search_p)
    return P, SimpleNamespace(seed=0)


def test_claim_cis_resample_tables_then_repeats():
    """Repeats and seeds of one table are not independent traces: the accuracy and search-cost
    CIs resample tables first. Two tables whose repeats agree exactly: the CI spans the two
    table means (an independent-units bootstrap over 6 rows was much narrower and, for the search
    claim, turned an inconclusive verdict into 'not supported')."""
    from archlab.studies.proxy import run

    P, C = _claim_params()
    lc = pd.DataFrame({"table": ["a"] * 3 + ["b"] * 3, "model": "gbr", "metric": "makespan_ns",
                       "n_train": 16000, "repeat": [0, 1, 2] * 2, "nrmse_pct": [0.1] * 3 + [0.9] * 3})
    acc = run.accuracy_claim(lc, P, C, "lc.png")
    assert acc.value == pytest.approx(0.5) and acc.n == 6
    assert acc.ci == pytest.approx((0.1, 0.9)) and acc.verdict == "supported"
    assert "2 tables x 3 repeats" in acc.note and "then repeats" in acc.rule

    sc = pd.DataFrame({"table": ["a"] * 3 + ["b"] * 3, "n_train": 100, "seed": [0, 1, 2] * 2,
                       "speedup_vs_median": [0.01] * 3 + [1.0] * 3, "hit": True})
    s = run.search_claim(sc, P, C, "sc.png")
    assert s.value == pytest.approx(0.1) and s.n == 6
    assert s.ci == pytest.approx((0.01, 1.0)) and s.verdict == "inconclusive"
    # within-table variation still counts: the seeds are resampled inside each table
    sc.loc[sc["table"] == "a", "speedup_vs_median"] = [0.005, 0.01, 0.02]
    lo, hi = run.search_claim(sc, P, C, "sc.png").ci
    assert 0.005 <= lo < 0.01 and hi == pytest.approx(1.0)


def test_clustered_ci_edge_cases():
    from archlab.studies.proxy import run

    P, _ = _claim_params()
    one = pd.DataFrame({"table": ["a"], "repeat": [0], "x": [2.0]})
    assert run.clustered_ci(one, "x", "repeat", P, 0) == (2.0, None)
    same = pd.DataFrame({"table": ["a", "b"], "repeat": [0, 0], "x": [2.0, 2.0]})
    assert run.clustered_ci(same, "x", "repeat", P, 0, log=True) == (pytest.approx(2.0), pytest.approx((2.0, 2.0)))


def test_learning_curve_figure_colours_tables_styles_models(monkeypatch, tmp_path):
    """With two models (standard profile: gbr + rf) a table keeps one colour and a model one line
    style, so eight curves per panel stay readable; rows of two metrics do not overlap."""
    import matplotlib.pyplot as plt
    from archlab.studies.proxy import figures
    from matplotlib.colors import to_hex

    captured = []
    monkeypatch.setattr(figures.plots, "save_fig", lambda fig, path: captured.append(fig) or path)
    rows = [{"table": f"dram/{t}", "model": m, "metric": k, "n_train": n, "repeat": 0,
             "nrmse_pct": 1.0 / n, "spearman": 0.9}
            for t in ("x", "y") for m in ("gbr", "rf") for k in ("makespan_ns", "energy_pJ") for n in (10, 100)]
    figures.learning_curve(pd.DataFrame(rows), tmp_path / "lc.png", 1.0)
    fig = captured[0]
    assert fig.get_layout_engine() is not None  # constrained: titles clear the row above
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines() if "(" in ln.get_label()}
    assert set(lines) == {"x (gbr)", "x (rf)", "y (gbr)", "y (rf)"}
    assert to_hex(lines["x (gbr)"].get_color()) == to_hex(lines["x (rf)"].get_color())
    assert to_hex(lines["x (gbr)"].get_color()) != to_hex(lines["y (gbr)"].get_color())
    assert lines["x (gbr)"].get_linestyle() != lines["x (rf)"].get_linestyle()
    plt.close(fig)
