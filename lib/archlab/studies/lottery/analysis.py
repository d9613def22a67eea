"""Hyperparameter-lottery statistics over a sweep store.

Vocabulary. A *task* is (problem, workload, objective, target). An experiment's *cost* is
the lowest geometric mean of its objective metrics over its evaluations (all minimized);
``norm_best = best_known / cost`` in (0, 1], where ``best_known`` is the lowest cost any
experiment found on that (problem, workload, objective). An experiment *meets the target*
when some evaluation had reward 1. Per (task, searcher):

* ``default``: hyperparameter draw 0 (the searcher's declared defaults);
* ``draw``: any draw, uniformly (what an untuned user gets);
* ``tuned``: the draw with the highest mean ``norm_best`` over seeds (ArchGym-style tuning;
  selected on the same seeds, so optimistic; ties go to the lower draw index).

The lottery: for each (task, seed) the searchers are ranked by ``norm_best``. With tuned
hyperparameters this gives one winner; drawing one hyperparameter configuration per
searcher at random (Monte Carlo, ``resamples``) gives a distribution of ranks and the
probability that each searcher is best (ties share the win).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

TASK = ["problem", "workload", "objective", "target_spec"]
FAMILY = ["problem", "workload", "objective"]


def _task_label(df: pd.DataFrame) -> pd.Series:
    label = df["problem"] + ":" + df["workload"] + ":" + df["objective"]
    if df["target_spec"].nunique() > 1:
        label = label + "@" + df["target_spec"]
    return label


def prepare(summaries: pd.DataFrame) -> pd.DataFrame:
    """Summaries plus ``task``, ``best_known`` and ``norm_best``."""
    s = summaries.copy()
    s["task"] = _task_label(s)
    s["best_known"] = s.groupby(FAMILY)["best_cost"].transform("min")
    s["norm_best"] = s["best_known"] / s["best_cost"]
    return s


def tuned_draws(s: pd.DataFrame) -> pd.DataFrame:
    """Per (task, searcher): the tuned draw (highest mean norm_best over seeds)."""
    m = s.groupby(["task", "searcher", "hp_draw"], as_index=False)["norm_best"].mean()
    m = m.sort_values(["task", "searcher", "norm_best", "hp_draw"], ascending=[True, True, False, True])
    return m.groupby(["task", "searcher"], as_index=False).first()[["task", "searcher", "hp_draw"]]


def select(s: pd.DataFrame, which: str) -> pd.DataFrame:
    """Rows of the ``default`` or ``tuned`` draws, or ``draw`` (every row)."""
    if which == "draw":
        return s
    if which == "default":
        return s[s["hp_draw"] == 0]
    if which == "tuned":
        return s.merge(tuned_draws(s), on=["task", "searcher", "hp_draw"])
    raise ValueError(f"which={which!r}: allowed: default, draw, tuned")


def target_share(s: pd.DataFrame) -> pd.DataFrame:
    """Share of (task, seed) runs meeting the target, per searcher, for default/draw/tuned."""
    rows = []
    for which in ("default", "draw", "tuned"):
        part = select(s, which).groupby("searcher")["met_target"].agg(["mean", "size"])
        for name, r in part.iterrows():
            rows.append({"searcher": name, "hp": which, "share": float(r["mean"]), "n": int(r["size"])})
    return pd.DataFrame(rows)


def share_vs_budget(s: pd.DataFrame, budgets: Sequence[int]) -> pd.DataFrame:
    """Share meeting the target within the first ``b`` evaluations, per searcher and budget."""
    rows = []
    for which in ("draw", "tuned"):
        sel = select(s, which)
        for b in budgets:
            if b > int(sel["budget"].min()):
                continue
            hit = sel["steps_to_target"].le(b)
            for name, share in hit.groupby(sel["searcher"]).mean().items():
                rows.append({"searcher": name, "hp": which, "budget": int(b), "share": float(share)})
    return pd.DataFrame(rows)


def best_so_far(evals: pd.DataFrame, s: pd.DataFrame) -> pd.DataFrame:
    """Per evaluation: normalized best-so-far (best_known / running minimum cost)."""
    e = evals[["experiment_id", "step", "target"]].copy()
    cost = np.full(len(e), np.nan)
    for tgt, idx in e.groupby("target").indices.items():
        names = list(json.loads(tgt))
        vals = evals.iloc[idx][names].to_numpy(dtype=float)
        cost[idx] = np.exp(np.log(np.maximum(vals, 1e-300)).mean(axis=1))
    e["cost"] = cost
    e = e.sort_values(["experiment_id", "step"], kind="stable")
    e["run_min"] = e.groupby("experiment_id")["cost"].cummin()
    meta = s[["experiment_id", "task", "searcher", "hp_draw", "seed", "best_known"]]
    e = e.merge(meta, on="experiment_id")
    e["norm"] = e["best_known"] / e["run_min"]
    return e.drop(columns=["target", "cost", "run_min"])


def curves(bsf: pd.DataFrame, s: pd.DataFrame, which: str = "tuned", ci: float = 0.95) -> pd.DataFrame:
    """Mean normalized best-so-far per (searcher, step) with a t-interval over seeds.

    Tasks are averaged within each seed first, so the band reflects seed-to-seed spread.
    """
    keep = select(s, which)[["experiment_id"]]
    b = bsf.merge(keep, on="experiment_id")
    per_seed = b.groupby(["searcher", "seed", "step"], as_index=False)["norm"].mean()
    g = per_seed.groupby(["searcher", "step"])["norm"]
    out = g.agg(["mean", "std", "count"]).reset_index()
    tcrit = stats.t.ppf(0.5 + ci / 2, np.maximum(out["count"] - 1, 1))
    half = np.where(out["count"] > 1, tcrit * out["std"] / np.sqrt(out["count"]), 0.0)
    out["lo"], out["hi"] = out["mean"] - half, out["mean"] + half
    out["evaluations"] = out["step"] + 1
    return out


def _ranks(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Competition ranks (1 = best, ties share the better rank) and fractional wins."""
    ranks = stats.rankdata(-scores, axis=-1, method="min")
    top = scores >= scores.max(axis=-1, keepdims=True)
    wins = top / top.sum(axis=-1, keepdims=True)
    return ranks, wins


def winners(s: pd.DataFrame, which: str = "tuned") -> pd.DataFrame:
    """For each (task, seed): each searcher's score with its ``default`` or ``tuned`` draw and
    the winner(s) (``a+b`` when tied)."""
    if which not in ("default", "tuned"):
        raise ValueError(f"which={which!r}: allowed: default, tuned")
    sel = select(s, which)[["task", "seed", "searcher", "norm_best"]]
    wide = sel.pivot_table(index=["task", "seed"], columns="searcher", values="norm_best")
    wide = wide.dropna(axis=0, how="any")
    _, wins = _ranks(wide.to_numpy())
    out = wide.copy()
    out["winner"] = ["+".join(wide.columns[w > 0]) for w in wins]
    return out.reset_index()


def lottery(s: pd.DataFrame, resamples: int = 2000, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Monte-Carlo lottery over hyperparameter draws (see the module docstring).

    Returns ``p_best`` (per searcher: probability of being best with a random draw, with
    tuned hyperparameters, with defaults), ``ranks`` (searcher x rank probabilities under a
    random draw), ``per_task`` (p_best per task and searcher under a random draw) and
    ``agreement``: the probability that the winner under a random draw (ties split) is also
    the winner with tuned hyperparameters.
    """
    rng = np.random.default_rng(seed)
    names = sorted(s["searcher"].unique())
    rank_counts = np.zeros((len(names), len(names)))
    win_rows, agree = [], []
    tuned = winners(s, "tuned").set_index(["task", "seed"])
    for (task, sd), grp in s.groupby(["task", "seed"]):
        by = {n: g["norm_best"].to_numpy() for n, g in grp.groupby("searcher")}
        if set(by) != set(names):
            continue  # a searcher missing on this (task, seed): the sweep is partial
        draws = np.stack([v[rng.integers(len(v), size=resamples)] for n, v in sorted(by.items())], axis=1)
        ranks, wins = _ranks(draws)
        for j in range(len(names)):
            rank_counts[j] += np.bincount(ranks[:, j].astype(int) - 1, minlength=len(names))
        win_rows.append({"task": task, "seed": sd, **dict(zip(names, wins.mean(axis=0)))})
        if (task, sd) in tuned.index:
            tw = set(tuned.loc[(task, sd), "winner"].split("+"))
            member = np.array([n in tw for n in names], dtype=float)
            agree.append(float((wins @ member).mean()))  # P(a random-draw winner, ties split, is a tuned winner)
    if not win_rows:
        raise ValueError("lottery: no (task, seed) has every searcher; run the sweep further")
    per = pd.DataFrame(win_rows)
    p_draw = per[names].mean()
    tw = winners(s, "tuned")
    dw = winners(s, "default")
    p_best = pd.DataFrame({
        "p_best_draw": p_draw,
        "p_best_tuned": _win_share(tw, names),
        "p_best_default": _win_share(dw, names),
    })
    p_best.index.name = "searcher"
    ranks = pd.DataFrame(rank_counts / rank_counts.sum(axis=1, keepdims=True), index=names,
                         columns=[str(r + 1) for r in range(len(names))])
    ranks.index.name = "searcher"
    per_task = per.groupby("task")[names].mean()
    return {"p_best": p_best.reset_index(), "ranks": ranks, "per_task": per_task,
            "agreement": float(np.mean(agree)) if agree else float("nan")}


def _win_share(w: pd.DataFrame, names: list[str]) -> pd.Series:
    share = pd.Series(0.0, index=names)
    for winner in w["winner"]:
        parts = winner.split("+")
        for p in parts:
            share[p] += 1.0 / len(parts)
    return share / max(len(w), 1)


def head_to_head(s: pd.DataFrame, a: str = "marl", b: str = "ppo", problem: str = "dram") -> dict | None:
    """``a`` versus ``b`` on ``problem`` at equal budgets; None when either is absent.

    ``p_a_better``: probability that a random draw of ``a`` beats a random draw of ``b`` on the
    same (task, seed) (ties count half; the common-language effect size), with the
    Mann-Whitney U p-value over all draws, and median/target shares for each.
    """
    sub = s[(s["problem"] == problem) & s["searcher"].isin([a, b])]
    if sub.empty or sub["searcher"].nunique() < 2:
        return None
    sup = []
    for _, g in sub.groupby(["task", "seed"]):
        xa = g.loc[g["searcher"] == a, "norm_best"].to_numpy()
        xb = g.loc[g["searcher"] == b, "norm_best"].to_numpy()
        if len(xa) and len(xb):
            diff = xa[:, None] - xb[None, :]
            sup.append(float((diff > 0).mean() + 0.5 * (diff == 0).mean()))
    xa_all = sub.loc[sub["searcher"] == a, "norm_best"]
    xb_all = sub.loc[sub["searcher"] == b, "norm_best"]
    p = float(stats.mannwhitneyu(xa_all, xb_all).pvalue) if xa_all.nunique() + xb_all.nunique() > 2 else 1.0
    out = {"a": a, "b": b, "problem": problem, "p_a_better": float(np.mean(sup)) if sup else float("nan"),
           "mannwhitney_p": p, "budget": int(sub["budget"].iloc[0])}
    for name in (a, b):
        x = sub[sub["searcher"] == name]
        t = select(x, "tuned") if len(x) else x
        out[f"{name}_median_norm"] = float(x["norm_best"].median())
        out[f"{name}_share_target_draw"] = float(x["met_target"].mean())
        out[f"{name}_share_target_tuned"] = float(t["met_target"].mean())
    return out
