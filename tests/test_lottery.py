"""Lottery statistics on hand-built summaries, the sweep CLI, and the notebook (smoke)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from archlab.studies.lottery import analysis
from typer.testing import CliRunner


def _summ(scores: dict[str, list[list[float]]], target_cost: float = 1.05) -> pd.DataFrame:
    """scores[searcher][seed][draw] = cost (lower is better) on one task."""
    rows = []
    for name, per_seed in scores.items():
        for seed, costs in enumerate(per_seed):
            for draw, c in enumerate(costs):
                rows.append({"experiment_id": f"{name}-{seed}-{draw}", "problem": "dram", "workload": "w",
                             "objective": "latency", "target": json.dumps({"makespan_ns": target_cost}),
                             "target_spec": "q0.01", "searcher": name, "hp": "{}", "hp_draw": draw, "seed": seed,
                             "budget": 10, "best_reward": min(1.0, target_cost / c), "met_target": c <= target_cost,
                             "steps_to_target": 5.0 if c <= target_cost else np.nan, "best_cost": c})
    return analysis.prepare(pd.DataFrame(rows))


def test_normalization_tuning_and_target_shares():
    s = _summ({"a": [[1.0, 2.0], [1.0, 2.0]], "b": [[4.0, 1.0], [4.0, 2.0]]})
    assert s["norm_best"].max() == 1.0 and (s["norm_best"] > 0).all()
    tuned = analysis.tuned_draws(s).set_index("searcher")["hp_draw"]
    assert tuned.to_dict() == {"a": 0, "b": 1}
    sh = analysis.target_share(s).pivot(index="searcher", columns="hp", values="share")
    assert sh.loc["a"].to_dict() == {"default": 1.0, "draw": 0.5, "tuned": 1.0}
    assert sh.loc["b"].to_dict() == {"default": 0.0, "draw": 0.25, "tuned": 0.5}
    svb = analysis.share_vs_budget(s, [2, 5, 10, 20])
    assert set(svb["budget"]) == {2, 5, 10}  # budgets beyond the experiments' budget are dropped
    assert svb.query("budget == 2")["share"].eq(0).all()


def test_lottery_dominant_searcher_always_wins():
    s = _summ({"a": [[1.0, 1.1, 1.2]] * 3, "b": [[2.0, 3.0]] * 3, "c": [[5.0]] * 3})
    lot = analysis.lottery(s, resamples=200, seed=1)
    p = lot["p_best"].set_index("searcher")
    assert p.loc["a"].tolist() == [1.0, 1.0, 1.0] and p.loc["c"].sum() == 0
    assert lot["ranks"].loc["a", "1"] == 1.0 and lot["ranks"].loc["c", "3"] == 1.0
    assert lot["agreement"] == 1.0
    assert set(analysis.winners(s)["winner"]) == {"a"}


def test_lottery_depends_on_draw_and_ties_share_the_win():
    # a wins with draw 0, b with draw 1: a random draw gives each about half the wins
    s = _summ({"a": [[1.0, 3.0]] * 4, "b": [[2.0, 1.5]] * 4})
    lot = analysis.lottery(s, resamples=4000, seed=0)
    p = lot["p_best"].set_index("searcher")["p_best_draw"]
    assert abs(p["a"] - 0.5) < 0.05 and abs(p["a"] + p["b"] - 1) < 1e-9
    assert 0.4 < lot["agreement"] < 0.6
    tie = _summ({"a": [[1.0]], "b": [[1.0]]})
    assert analysis.winners(tie)["winner"].iloc[0] == "a+b"
    assert analysis.lottery(tie, 10)["p_best"].set_index("searcher")["p_best_tuned"].tolist() == [0.5, 0.5]


def test_head_to_head():
    s = _summ({"marl": [[1.0, 1.1]] * 3, "ppo": [[2.0, 1.5]] * 3})
    h = analysis.head_to_head(s, "marl", "ppo", "dram")
    assert h["p_a_better"] == 1.0 and h["marl_median_norm"] > h["ppo_median_norm"]
    assert analysis.head_to_head(s, "marl", "bo", "dram") is None
    assert analysis.head_to_head(s, "marl", "ppo", "accel") is None


def test_best_so_far_curves_from_a_real_sweep(tmp_path):
    from archlab.sweep import Experiment, Store, run_sweep
    from archlab.sweep.store import summarize

    exps = [Experiment("synthetic", "a", "latency", {"latency_ns": 60.0}, n, hp, s, 20, hp_draw=k)
            for n, draws in {"random": [{}], "random_walk": [{}, {"n_changes": 3, "step": 2}]}.items()
            for k, hp in enumerate(draws) for s in range(3)]
    store = Store(tmp_path)
    run_sweep(exps, store, workers=2, progress=False)
    s = analysis.prepare(summarize(store.read()))
    bsf = analysis.best_so_far(store.read(columns=["target", "latency_ns"]), s)
    assert len(bsf) == len(exps) * 20
    assert (bsf.groupby("experiment_id")["norm"].diff().dropna() >= 0).all()  # best so far never drops
    cur = analysis.curves(bsf, s, "tuned", 0.9)
    assert set(cur["searcher"]) == {"random", "random_walk"} and cur["evaluations"].max() == 20
    assert ((cur["lo"] <= cur["mean"]) & (cur["mean"] <= cur["hi"])).all() and cur["mean"].le(1).all()
    last = bsf[bsf["step"] == 19].set_index("experiment_id")["norm"]
    assert np.allclose(last.sort_index(), s.set_index("experiment_id")["norm_best"].sort_index())


PARAMS = """
common: {seed: 5, profile: quick, executor: local, workers: 1, dask_address: null}
lottery:
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
    r = runner.invoke(app, ["sweep", "status"])
    assert r.exit_code == 0, r.output
    assert "all" in r.output and " 0 " in r.output
    r = runner.invoke(app, ["sweep", "run", "--limit", "2"])
    assert r.exit_code == 0 and "ran 2" in r.output, r.output
    r = runner.invoke(app, ["sweep", "run"])
    assert r.exit_code == 0 and "2 already done, ran 4" in r.output, r.output
    r = runner.invoke(app, ["sweep", "status", "--profile", "huge"])
    assert r.exit_code != 0 and "common.profile" in r.output
    r = runner.invoke(app, ["sweep", "run", "--executor", "slurm"])
    assert r.exit_code != 0 and "allowed: local, dask" in r.output
    p.write_text(PARAMS.replace("[random, random_walk]", "[random, nope]"))
    r = runner.invoke(app, ["sweep", "status"])
    assert r.exit_code != 0 and "unknown searcher 'nope'" in r.output


@pytest.mark.slow
def test_lottery_notebook_smoke(tmp_path):
    from archlab.workbook import nb

    nb.run("notebooks/lottery.ipynb", "lottery", smoke=True, out=tmp_path)
    m = json.loads((tmp_path / "metrics" / "lottery.json").read_text())
    assert m["experiments"] > 0 and set(m["share_meeting_target"]) == {"default", "draw", "tuned"}
    for name in ("target_share", "distribution", "share_vs_budget", "curves", "lottery", "marl_vs_ppo"):
        assert (tmp_path / "figures" / "lottery" / f"{name}.png").is_file()
