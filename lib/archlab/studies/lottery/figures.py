"""Figures of the lottery study (each writes a deterministic PNG and returns its path)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from archlab.analysis import stats as st
from archlab.core.plots import save_fig
from archlab.studies.lottery.analysis import LABELS

ORDER = ["default", "draw", "tuned", "tuned@tuning"]


def _colors(names) -> dict:
    return dict(zip(sorted(names), sns.color_palette("colorblind", max(3, len(names)))))


def target_share(shares: pd.DataFrame, p0: float, meet: float, path: Path) -> Path:
    """Share of runs meeting the target per searcher and condition, Clopper–Pearson bars."""
    names = sorted(shares["searcher"].unique())
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(names) + 2), 3.8))
    width = 0.8 / len(ORDER)
    pal = sns.color_palette("colorblind", len(ORDER))
    for j, cond in enumerate(ORDER):
        d = shares[shares["condition"] == cond].set_index("searcher").reindex(names)
        x = np.arange(len(names)) + (j - (len(ORDER) - 1) / 2) * width
        ax.bar(x, d["share"], width, color=pal[j], label=LABELS[cond], alpha=0.55 if cond == "tuned@tuning" else 1,
               hatch="//" if cond == "tuned@tuning" else None)
        ax.errorbar(x, d["share"], yerr=[d["share"] - d["lo"], d["hi"] - d["share"]], fmt="none", ecolor="k",
                    elinewidth=0.8, capsize=2)
    ax.axhline(p0, color="0.3", ls=":", lw=1)
    ax.text(len(names) - 0.5, p0, f" random search p0 = {p0:g}", va="bottom", ha="right", fontsize=8)
    ax.axhline(meet, color="C3", ls="--", lw=0.8)
    ax.text(-0.5, meet, f"rule: lower bound ≥ {meet:g}", va="bottom", fontsize=8, color="C3")
    ax.set_xticks(np.arange(len(names)), names, rotation=20)
    n = int(shares[shares["condition"] == "tuned"]["n"].max())
    ax.set(ylim=(0, 1.05), ylabel="share of runs meeting the target",
           title=f"Target share with 95% Clopper–Pearson CIs (held-out n = {n} per bar)")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    return save_fig(fig, path)


def cd(res: st.FriedmanResult, path: Path) -> Path:
    fig = st.cd_diagram(res, title=(f"Tuned, held-out: average rank (1 = best); Friedman p = {res.pvalue:.2g}, "
                                    f"{res.n_blocks} (task, seed) blocks; bars: Holm-Wilcoxon n.s."))
    return save_fig(fig, path)


def curves(cur: pd.DataFrame, path: Path) -> Path:
    """Best-so-far score with 95% hierarchical-bootstrap bands, one panel per condition."""
    conds = [c for c in ("tuned", "draw", "default") if c in set(cur["condition"])]
    colors = _colors(cur["searcher"].unique())
    fig, axes = plt.subplots(1, len(conds), figsize=(4.6 * len(conds), 3.6), sharey=True, squeeze=False)
    for ax, cond in zip(axes[0], conds):
        for name, g in cur[cur["condition"] == cond].groupby("searcher"):
            ax.plot(g["evaluations"], g["mean"], color=colors[name], label=name, lw=1.3)
            ax.fill_between(g["evaluations"], g["lo"], g["hi"], color=colors[name], alpha=0.15, lw=0)
        ax.set(xscale="log", xlabel="simulator evaluations", title=LABELS[cond], ylim=(0, 1.0))
    axes[0, 0].set_ylabel("best-so-far score (1 = optimum)")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Best so far, held-out seeds (bands: 95% bootstrap over tasks, then seeds)", fontsize=10)
    fig.tight_layout()
    return save_fig(fig, path)


def rank_regret(runs: pd.DataFrame, path: Path) -> Path:
    """Rank of the best configuration found (1 = optimum), tuned and held-out, per searcher."""
    d = runs[(runs["phase"] == "eval") & (runs["condition"].isin(["tuned", "draw"]))].copy()
    d["log10 rank"] = np.log10(d["rank"].astype(float))
    order = sorted(d["searcher"].unique())
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(order) + 2), 3.6))
    sns.boxplot(d, x="searcher", y="log10 rank", hue="condition", order=order, hue_order=["draw", "tuned"],
                fliersize=1.5, ax=ax)
    ax.set(xlabel="", ylabel="log10 rank of best found (0 = optimum)",
           title="Distance to the exact optimum (held-out seeds)")
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(fontsize=8, title="")
    fig.tight_layout()
    return save_fig(fig, path)


def variance(vc: pd.DataFrame, path: Path) -> Path:
    """Variance components of the tuning-phase score per searcher (stacked shares)."""
    comps = ["task", "hp draw", "hp draw x task", "seed"]
    wide = vc.pivot_table(index="searcher", columns="component", values="share").reindex(columns=comps).fillna(0)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(wide) + 2), 3.4))
    bottom = np.zeros(len(wide))
    for j, c in enumerate(comps):
        ax.bar(wide.index, wide[c], bottom=bottom, label=c, color=sns.color_palette("colorblind")[j])
        bottom += wide[c].to_numpy()
    ax.set(ylabel="share of score variance", ylim=(0, 1), title="Where the score varies (tuning phase, ANOVA)")
    ax.tick_params(axis="x", labelrotation=20)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    return save_fig(fig, path)


def p_best(wins: pd.DataFrame, path: Path) -> Path:
    """P(best on a task and held-out seed) per searcher and condition, bootstrap CIs."""
    names = sorted(wins["searcher"].unique())
    conds = ["default", "draw", "tuned"]
    pal = sns.color_palette("colorblind", len(conds))
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(names) + 2), 3.6))
    width = 0.8 / len(conds)
    for j, cond in enumerate(conds):
        d = wins[wins["condition"] == cond].set_index("searcher").reindex(names)
        x = np.arange(len(names)) + (j - 1) * width
        ax.bar(x, d["p_best"], width, color=pal[j], label=LABELS[cond])
        ax.errorbar(x, d["p_best"], yerr=[d["p_best"] - d["lo"], d["hi"] - d["p_best"]], fmt="none", ecolor="k",
                    elinewidth=0.8, capsize=2)
    ax.set_xticks(np.arange(len(names)), names, rotation=20)
    ax.set(ylim=(0, 1), ylabel="P(best) (ties split)", title="Who wins, by hyperparameter condition (95% CIs)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_fig(fig, path)
