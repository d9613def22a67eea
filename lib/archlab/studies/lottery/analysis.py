"""Lottery statistics over :class:`~archlab.studies.lottery.protocol.ProtocolTables`.

Every number reported is computed on held-out seeds (conditions ``default``, ``tuned``,
``draw``), except the explicitly optimistic ``tuned (tuning seeds)`` share shown beside it.
Shares carry Clopper–Pearson intervals; means and win shares carry hierarchical-bootstrap
intervals (tasks, then seeds within task); every "no difference" carries its minimum
detectable effect (MDE, at the rules' alpha and power).
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from archlab.analysis import stats as st

HELD_OUT = ("default", "draw", "tuned")
LABELS = {"default": "declared defaults", "draw": "random hp draw", "tuned": "tuned (held-out seeds)",
          "tuned@tuning": "tuned (tuning seeds, optimistic)"}


def held_out(runs: pd.DataFrame, condition: str) -> pd.DataFrame:
    return runs[(runs["phase"] == "eval") & (runs["condition"] == condition)]


def tuned_on_tuning_seeds(runs: pd.DataFrame, tuned: pd.DataFrame) -> pd.DataFrame:
    """Tuning-phase runs of the tuned draws: what selecting and scoring on the same seeds reads."""
    t = runs[runs["phase"] == "tuning"]
    return t.merge(tuned[["task", "searcher", "hp_draw"]], on=["task", "searcher", "hp_draw"])


def target_shares(runs: pd.DataFrame, tuned: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per searcher and condition: hits k of n runs, share and its Clopper–Pearson CI."""
    parts = {c: held_out(runs, c) for c in HELD_OUT}
    parts["tuned@tuning"] = tuned_on_tuning_seeds(runs, tuned)
    rows = []
    for cond, d in parts.items():
        for name, g in d.groupby("searcher"):
            iv = st.share_ci(int(g["met_target"].sum()), len(g), level)
            rows.append({"searcher": name, "condition": cond, "k": int(g["met_target"].sum()), "n": iv.n,
                         "share": iv.value, "lo": iv.lo, "hi": iv.hi})
    return pd.DataFrame(rows)


def score_matrix(runs: pd.DataFrame, condition: str, value: str = "score") -> pd.DataFrame:
    """Blocks (task, seed) x searchers of ``value`` for a held-out condition (complete blocks)."""
    d = held_out(runs, condition)
    return d.pivot_table(index=["task", "seed"], columns="searcher", values=value, aggfunc="first").dropna()


def win_shares(runs: pd.DataFrame, n_boot: int, level: float, seed: int) -> pd.DataFrame:
    """P(best) per searcher and held-out condition (ties split), hierarchical-bootstrap CI."""
    rows = []
    for cond in HELD_OUT:
        w = st.p_best(score_matrix(runs, cond))
        long = w.reset_index().melt(id_vars=["task", "seed"], var_name="searcher", value_name="win")
        for name, g in long.groupby("searcher"):
            iv = st.hierarchical_bootstrap(g, "win", n_boot=n_boot, level=level, seed=seed)
            rows.append({"searcher": name, "condition": cond, "p_best": iv.value, "lo": iv.lo, "hi": iv.hi,
                         "n": iv.n})
    return pd.DataFrame(rows)


def disagreement(runs: pd.DataFrame, n_boot: int, level: float, seed: int) -> dict[str, Any]:
    """The lottery measure: per (task, held-out seed), the probability that the winner with
    one random hp draw per searcher differs from the winner with tuned hp on the same task
    and seed (ties broken uniformly: ``1 - sum_j w_draw[j] w_tuned[j]``), averaged with a
    hierarchical-bootstrap CI. Reference: the same measure between the tuned winners of two
    different held-out seeds of one task (what seed noise alone gives)."""
    wt = st.p_best(score_matrix(runs, "tuned"))
    wd = st.p_best(score_matrix(runs, "draw"))
    common = wt.index.intersection(wd.index)
    cols = sorted(set(wt.columns) & set(wd.columns))
    dis = 1.0 - (wt.loc[common, cols].to_numpy() * wd.loc[common, cols].to_numpy()).sum(axis=1)
    df = pd.DataFrame({"task": common.get_level_values(0), "seed": common.get_level_values(1), "d": dis})
    iv = st.hierarchical_bootstrap(df, "d", n_boot=n_boot, level=level, seed=seed)
    ref = []
    for task, g in wt.groupby(level=0):
        v = g[cols].to_numpy()
        for i, j in itertools.combinations(range(len(v)), 2):
            ref.append({"task": task, "seed": i, "d": 1.0 - float(v[i] @ v[j])})
    riv = (st.hierarchical_bootstrap(pd.DataFrame(ref), "d", n_boot=n_boot, level=level, seed=seed)
           if ref else None)
    return {"interval": iv, "blocks": len(df), "seed_reference": riv, "per_block": df}


def model_based_share(runs: pd.DataFrame, names: list[str], n_boot: int, level: float, seed: int) -> st.Interval:
    """Share of held-out tuned wins (ties split) that go to the ``names`` searchers."""
    w = st.p_best(score_matrix(runs, "tuned"))
    cols = [c for c in names if c in w.columns]
    df = pd.DataFrame({"task": w.index.get_level_values(0), "seed": w.index.get_level_values(1),
                       "w": w[cols].sum(axis=1).to_numpy() if cols else 0.0})
    return st.hierarchical_bootstrap(df, "w", n_boot=n_boot, level=level, seed=seed)


def tuning_gain(runs: pd.DataFrame, exclude: list[str], n_boot: int, level: float, seed: int
                ) -> tuple[st.Interval, pd.DataFrame, float]:
    """Held-out score gain of tuned over a random draw (paired on task, seed, searcher):
    the mean over searchers (hierarchical bootstrap), per-searcher intervals, and the SD of
    the per-block paired differences (for the MDE)."""
    t = score_matrix(runs, "tuned").drop(columns=exclude, errors="ignore")
    d = score_matrix(runs, "draw").drop(columns=exclude, errors="ignore")
    common = t.index.intersection(d.index)
    diff = t.loc[common] - d.loc[common]
    block = diff.mean(axis=1).rename("g").reset_index()
    iv = st.hierarchical_bootstrap(block, "g", n_boot=n_boot, level=level, seed=seed)
    rows = []
    for name in diff.columns:
        g = diff[name].rename("g").reset_index()
        s = st.hierarchical_bootstrap(g, "g", n_boot=n_boot, level=level, seed=seed)
        rows.append({"searcher": name, "gain": s.value, "lo": s.lo, "hi": s.hi, "n": s.n})
    return iv, pd.DataFrame(rows), float(block["g"].std(ddof=1)) if len(block) > 1 else float("nan")


def friedman_tuned(runs: pd.DataFrame, alpha: float) -> st.FriedmanResult:
    """Friedman over (task, held-out seed) blocks of tuned scores; Holm-corrected Wilcoxon."""
    return st.friedman(score_matrix(runs, "tuned"), alpha=alpha)


def variance(runs: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per searcher: variance components of the tuning-phase score (task, hp draw,
    draw x task, seed)."""
    t = runs[(runs["phase"] == "tuning") & (runs["searcher"] != baseline)]
    rows = []
    for name, g in t.groupby("searcher"):
        try:
            vc = st.variance_components(g, "score")
        except ValueError:
            continue
        rows.append(vc.assign(searcher=name))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["component", "variance", "share", "searcher"])


def quality(runs: pd.DataFrame) -> pd.DataFrame:
    """Held-out tuned runs per searcher: median rank of the best found (1 = optimum),
    share finding the optimum, median regret, mean score and area under best-so-far."""
    d = held_out(runs, "tuned")
    g = d.groupby("searcher")
    return pd.DataFrame({
        "runs": g.size(), "median_rank": g["rank"].median(), "found_optimum": g["rank"].apply(lambda r: (r == 1).mean()),
        "median_regret": g["regret"].median(), "mean_score": g["score"].mean(), "mean_auc": g["auc"].mean(),
    }).reset_index()


def cost(runs: pd.DataFrame) -> pd.DataFrame:
    """Searcher CPU seconds per experiment next to its simulator budget (table lookups)."""
    d = runs.drop_duplicates("experiment_id")
    g = d.groupby("searcher")
    out = pd.DataFrame({"experiments": g.size(), "budget": g["budget"].first(),
                        "cpu_s_median": g["cpu_s"].median(), "cpu_s_total": g["cpu_s"].sum()})
    out["cpu_ms_per_eval"] = 1000 * out["cpu_s_median"] / out["budget"]
    return out.reset_index()


def curves(T: Any, conditions: tuple[str, ...], n_boot: int, level: float, seed: int) -> pd.DataFrame:
    """Mean best-so-far score per searcher, condition and evaluation count, with
    hierarchical-bootstrap bands (bounded in [0, 1] like the score)."""
    rows = []
    for cond in conditions:
        c = T.curves[T.curves["condition"] == cond]
        for name, g in c.groupby("searcher"):
            b = st.bootstrap_curve(g, "bsf", "evaluations", n_boot=n_boot, level=level, seed=seed)
            rows.append(b.assign(searcher=name, condition=cond))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def design(P: Any, n_tasks: int) -> dict[str, Any]:
    """The design's power: per searcher n = tasks x held-out seeds; the power of the
    'meets the target' rule if the true tuned share were 0.8 or 0.9; MDEs at this n."""
    n = n_tasks * P.eval_seeds
    r = P.rules
    return {"tasks": n_tasks, "held_out_runs_per_searcher": n, "tuning_runs_per_draw": n_tasks * P.tuning_seeds,
            "power_meet_if_true_0.8": st.power_share_bound(n, 0.8, r.meet_share),
            "power_meet_if_true_0.9": st.power_share_bound(n, 0.9, r.meet_share),
            "mde_share_vs_meet": st.mde_share(n, r.meet_share, r.alpha, r.power),
            "mde_paired_d": st.mde_paired(n, None, r.alpha, r.power)}
