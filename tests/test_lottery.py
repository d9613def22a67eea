"""The lottery protocol (exact targets, equal draws, held-out seeds), its statistics and claims,
on the synthetic toy table; the generic sweep CLI; the notebook in smoke mode."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from archlab.core import params
from archlab.studies.lottery import analysis, protocol
from archlab.studies.lottery.params import LotteryParams
from archlab.sweep import Store
from typer.testing import CliRunner

TOY = {"workloads": ["toy/lottery"], "objectives": ["cost_au", "cost_au+energy_pJ"], "build": "toy"}


def _params(**kw) -> LotteryParams:
    base = dict(tasks=[TOY], searchers=["random", "random_walk", "ga"], budget=20, hp_draws=3, tuning_seeds=2,
                eval_seeds=3, bootstrap=200, curve_bootstrap=100, curve_points=6, progress=False)
    return LotteryParams(**{**base, **kw})


def test_params_rules_and_profiles():
    with pytest.raises(ValueError, match="baseline"):
        _params(baseline="bo")
    with pytest.raises(ValueError, match="eval_seed_offset"):
        _params(tuning_seeds=5, eval_seed_offset=3)
    d = params.read()
    data = {"common": {**d["common"], "profile": "standard"}, "lottery": d["lottery"]}
    std = params.load_section("lottery", data=data)
    quick = params.load_section("lottery", data={"common": d["common"], "lottery": d["lottery"]})
    assert std.eval_seeds > quick.eval_seeds and std.hp_draws >= quick.hp_draws
    assert quick.baseline in quick.searchers and "bo" in quick.searchers


def test_hp_rule_caps_every_draw_and_defaults():
    P = _params(searchers=["random", "ga", "ppo", "bo", "tpe", "aco"], budget=40, hp_draws=12)
    for name, hp, cap in [("ppo", "batch", 10), ("ga", "population", 8), ("bo", "n_init", 16),
                          ("tpe", "n_startup_trials", 16), ("aco", "ants", 8)]:
        space, caps = protocol.hp_space(name, P)
        assert caps[hp] == cap and space[hp].high == cap
        ds = protocol.draws(name, P, seed=0)
        assert ds[0][0] == 0 and all(h[hp] <= cap for _, h in ds)
        assert len(ds) == 12  # every searcher gets the same number of draws
    assert protocol.draws("ppo", P, 0)[0][1]["batch"] == 10  # default 32 clipped to the rule
    assert protocol.draws("random", P, 0) == [(0, {})]
    assert protocol.draws("ga", P, 0) == protocol.draws("ga", P, 0)  # seeded


def test_exact_targets_and_scores():
    P = _params()
    tasks, skipped = protocol.resolve_tasks(P)
    assert [t.label for t in tasks] == ["toy/lottery:cost_au", "toy/lottery:cost_au+energy_pJ"] and not skipped
    for t in tasks:
        ref = protocol.reference(t, P.p0, P.budget)
        assert ref.hit_probability >= P.p0 and ref.hit_probability < P.p0 + 0.05
        assert float(ref.score(ref.opt_level)) == 1.0 and float(ref.score(ref.total)) == 0.0
        lv = ref.levels(np.array([[ref.optimum[m] for m in ref.metrics]]))
        assert lv[0] == ref.opt_level
    missing = _params(tasks=[TOY, {"workloads": ["nokind/*", "dram/nope"], "optional": True}])
    tasks, skipped = protocol.resolve_tasks(missing)
    assert len(tasks) == 2 and {"dram/nope:latency", "nokind/*:latency"} <= set(skipped)
    with pytest.raises(ValueError, match="no table"):
        protocol.resolve_tasks(_params(tasks=[{"workloads": ["dram/nope"]}]))


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    import os

    out = tmp_path_factory.mktemp("lottery")
    old = os.environ.get("ARCHLAB_OUT")
    os.environ["ARCHLAB_OUT"] = str(out)
    try:
        P = _params()
        tasks, _ = protocol.resolve_tasks(P)
        store = Store(out / "store")
        T = protocol.run_protocol(P.searchers, tasks, P, store, seed=3, workers=2)
        again = protocol.run_protocol(P.searchers, tasks, P, store, seed=3, workers=2)
    finally:
        if old is None:
            os.environ.pop("ARCHLAB_OUT")
        else:
            os.environ["ARCHLAB_OUT"] = old
    return P, T, again


def test_protocol_separates_tuning_from_evaluation(tables):
    P, T, again = tables
    assert again.ran == 0 and again.experiments == T.experiments  # resumed entirely from the store
    pd.testing.assert_frame_equal(T.runs.sort_values(["condition", "experiment_id"]).reset_index(drop=True),
                                  again.runs.sort_values(["condition", "experiment_id"]).reset_index(drop=True))
    tune = T.runs[T.runs["phase"] == "tuning"]
    ev = T.runs[T.runs["phase"] == "eval"]
    for label, g in T.runs.groupby("task"):  # seeds derived per task from the seed indices
        task = next(t for t in protocol.resolve_tasks(P)[0] if t.label == label)
        assert set(g[g["phase"] == "tuning"]["seed"]) == {protocol.task_seed(task, s) for s in (3, 4)}
        assert set(g[g["phase"] == "eval"]["seed"]) == {protocol.task_seed(task, 3 + P.eval_seed_offset + i)
                                                        for i in range(3)}
    # two tasks on one table: independent searcher streams, not copies
    assert len({protocol.task_seed(t, 3) for t in protocol.resolve_tasks(P)[0]}) == 2
    assert set(ev["condition"]) == {"default", "tuned", "draw"}
    # every (task, searcher, seed, condition) once; tuned = the best tuning-seed mean
    assert not ev.duplicated(["task", "searcher", "seed", "condition"]).any()
    assert len(ev) == 2 * 3 * 3 * 3
    best = tune.groupby(["task", "searcher", "hp_draw"])["score"].mean().groupby(level=[0, 1]).idxmax()
    for (task, name), key in best.items():
        k = int(T.tuned.set_index(["task", "searcher"]).loc[(task, name), "hp_draw"])
        assert tune[(tune.task == task) & (tune.searcher == name) & (tune.hp_draw == k)]["score"].mean() == \
            pytest.approx(tune[(tune.task == task) & (tune.searcher == name) & (tune.hp_draw == key[2])]["score"].mean())
    tuned_ev = ev[ev["condition"] == "tuned"].merge(T.tuned[["task", "searcher", "hp_draw"]],
                                                    on=["task", "searcher"], suffixes=("", "_sel"))
    assert (tuned_ev["hp_draw"] == tuned_ev["hp_draw_sel"]).all()
    assert (T.runs["score"].between(0, 1)).all() and (T.runs["rank"] >= 1).all()
    # met_target agrees with the exact level: met <=> the best found is within the target's tail
    for r in T.tasks.itertuples():
        sub = T.runs[T.runs["task"] == r.task]
        assert ((sub["tail"] <= r.share + 1e-12) == sub["met_target"]).all()
    assert (T.curves.groupby(["condition", "experiment_id"])["bsf"].diff().dropna() >= -1e-12).all()


def test_analysis_and_claims(tables, tmp_path, monkeypatch):
    P, T, _ = tables
    sh = analysis.target_shares(T.runs, T.tuned)
    assert set(sh["condition"]) == {"default", "draw", "tuned", "tuned@tuning"}
    assert ((sh["lo"] <= sh["share"]) & (sh["share"] <= sh["hi"])).all()
    assert (sh.query("condition == 'tuned'")["n"] == 2 * 3).all()
    d = analysis.disagreement(T.runs, 200, 0.95, 0)
    assert 0 <= d["interval"].lo <= d["interval"].value <= d["interval"].hi <= 1
    cur = analysis.curves(T, ("tuned",), 100, 0.95, 0)
    assert cur["hi"].max() <= 1 and cur["lo"].min() >= 0
    vc = analysis.variance(T.runs, "random")
    assert set(vc["searcher"]) == {"random_walk", "ga"}


def test_disagreement_measure_known_values():
    rows = []
    for seed in range(4):
        # tuned: a always wins; draw: b wins on two seeds, a and b tie on the others
        for cond, sa, sb in [("tuned", 1.0, 0.5), ("draw", 0.4 if seed < 2 else 0.7, 0.7)]:
            rows += [{"phase": "eval", "condition": cond, "task": "t", "seed": seed, "searcher": n, "score": s}
                     for n, s in (("a", sa), ("b", sb))]
    d = analysis.disagreement(pd.DataFrame(rows), 200, 0.95, 0)
    assert d["interval"].value == pytest.approx((1 + 1 + 0.5 + 0.5) / 4)
    assert d["seed_reference"].value == 0.0  # the tuned winner never changes with the seed


def test_run_smoke_writes_claims(tmp_path, monkeypatch):
    from archlab.studies.lottery import run

    d = params.read()
    data = {"common": d["common"], "lottery": d["lottery"]}
    P = params.load_section("lottery", smoke=True, data=data)
    C = params.load_section("common", data=data)
    R = run.run(P, C)
    ids = [c.id for c in R.claims]
    assert ids == ["tuned_every_searcher_meets_target", "winner_is_lottery", "model_based_win",
                   "tuning_beats_random_draw", "random_baseline_exact"]
    for c in R.claims:
        assert c.n and c.n > 0 and c.ci is not None and c.ci[0] <= c.value <= c.ci[1] and c.rule
    path = R.write_metrics()
    doc = json.loads(path.read_text())
    assert len(doc["claims"]) == 5 and "cpu" not in json.dumps({k: v for k, v in doc.items() if k != "claims"})
    for name in ("target_share", "p_best", "cd", "curves", "rank", "variance"):
        assert R.figures[name].is_file()


PARAMS = """
common: {seed: 5, profile: quick, executor: local, workers: 1, dask_address: null}
sweep:
  problems: [{problem: synthetic, workloads: [a], objectives: [latency], targets: [q0.1]}]
  searchers: [random, random_walk]
  hp_draws: 2
  seeds: 2
  budget: 8
  calibration_samples: 16
  progress: false
"""


def test_sweep_cli_run_status_and_errors(tmp_path, monkeypatch):
    from archlab.cli import _mount_groups, app

    _mount_groups()
    p = tmp_path / "params.yaml"
    p.write_text(PARAMS)
    monkeypatch.setenv("ARCHLAB_PARAMS", str(p))
    runner = CliRunner()
    r = runner.invoke(app, ["sweep", "status", "--section", "sweep"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["sweep", "run", "--section", "sweep", "--limit", "2"])
    assert r.exit_code == 0 and "ran 2" in r.output, r.output
    r = runner.invoke(app, ["sweep", "run", "--section", "sweep"])
    assert r.exit_code == 0 and "2 already done, ran 4" in r.output, r.output
    p.write_text(PARAMS.replace("[random, random_walk]", "[random, nope]"))
    r = runner.invoke(app, ["sweep", "status", "--section", "sweep"])
    assert r.exit_code != 0 and "unknown searcher 'nope'" in r.output
    r = runner.invoke(app, ["sweep", "protocol", "--section", "sweep"])
    assert r.exit_code != 0 and "not a lottery-protocol section" in r.output


def test_sweep_protocol_cli_smoke(tmp_path, monkeypatch):
    import yaml
    from archlab.cli import _mount_groups, app

    _mount_groups()
    d = params.read()
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({"common": {**d["common"], "workers": 1}, "lottery": d["lottery"]}))
    monkeypatch.setenv("ARCHLAB_PARAMS", str(p))
    r = CliRunner().invoke(app, ["sweep", "protocol", "--section", "lottery", "--smoke"])
    assert r.exit_code == 0 and "lottery: 89 experiments (89 run now, 0 failed) on 2 tasks" in r.output, r.output


@pytest.mark.slow
def test_lottery_notebook_smoke(tmp_path):
    from archlab.workbook import nb

    nb.run("notebooks/lottery.ipynb", "lottery", smoke=True, out=tmp_path)
    m = json.loads((tmp_path / "metrics" / "lottery.json").read_text())
    assert m["experiments"] > 0 and len(m["claims"]) == 5
    for name in ("target_share", "p_best", "cd", "curves", "rank", "variance"):
        assert (tmp_path / "figures" / "lottery" / f"{name}.png").is_file()


def test_task_seed_is_the_shared_derive_seed_and_unchanged():
    """Values pinned with the formula as it stood in protocol.task_seed before it moved to
    sweep.plan.derive_seed (the stored lottery experiments are keyed by these seeds)."""
    from archlab.sweep.plan import derive_seed

    pinned = {("cloud-1", "latency", 0): 235495043, ("cloud-1", "power", 3): 1793520322,
              ("stream/random", "energy", 12345): 1025806768}
    for (w, o, s), v in pinned.items():
        assert protocol.task_seed(protocol.Task(w, o), s) == v
        assert derive_seed(s, f"{w}:{o}") == v
