"""Figures of the lottery study (each returns a matplotlib Figure; the notebook saves it)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

HP_ORDER = ["default", "draw", "tuned"]
HP_LABEL = {"default": "declared defaults", "draw": "random hp draw", "tuned": "tuned (best draw)"}


def target_share(shares: pd.DataFrame) -> plt.Figure:
    """Grouped bars: share of runs meeting the target per searcher, by hp choice."""
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * shares["searcher"].nunique() + 2), 3.6))
    d = shares.assign(hp=shares["hp"].map(HP_LABEL))
    sns.barplot(d, x="searcher", y="share", hue="hp", hue_order=[HP_LABEL[h] for h in HP_ORDER], ax=ax)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set(ylim=(0, 1.05), ylabel="share of runs meeting target", xlabel="",
           title="Does every searcher reach the target when tuned?")
    ax.legend(title="", loc="lower right", fontsize=8)
    ax.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def distribution(s: pd.DataFrame, max_tasks: int = 6) -> plt.Figure:
    """Violin + strip of normalized best per searcher (one point = one hp draw x seed)."""
    tasks = sorted(s["task"].unique())[:max_tasks]
    fig, axes = plt.subplots(len(tasks), 1, figsize=(max(6, 1.1 * s["searcher"].nunique() + 2),
                                                     2.8 * len(tasks)), squeeze=False)
    order = sorted(s["searcher"].unique())
    for ax, task in zip(axes[:, 0], tasks):
        d = s[s["task"] == task]
        sns.violinplot(d, x="searcher", y="norm_best", order=order, cut=0, inner=None, color="0.88",
                       density_norm="width", ax=ax)
        sns.stripplot(d, x="searcher", y="norm_best", order=order, hue="met_target", hue_order=[False, True],
                      size=3, jitter=0.25, alpha=0.7, ax=ax, legend=ax is axes[0, 0])
        ax.set(title=task, xlabel="", ylabel="best / best known", ylim=(None, 1.02))
        ax.tick_params(axis="x", labelrotation=30)
    if axes[0, 0].get_legend() is not None:
        axes[0, 0].legend(title="met target", fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def share_vs_budget(svb: pd.DataFrame) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, hp in zip(axes, ["draw", "tuned"]):
        d = svb[svb["hp"] == hp]
        sns.lineplot(d, x="budget", y="share", hue="searcher", marker="o", ax=ax, legend=hp == "tuned")
        ax.set(title=f"{HP_LABEL[hp]}", xlabel="simulator evaluations", ylabel="share meeting target",
               ylim=(0, 1.05))
        ax.set_xticks(sorted(svb["budget"].unique()))
    if axes[1].get_legend() is not None:
        axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def curves(cur: dict[str, pd.DataFrame], ci: float) -> plt.Figure:
    """Best-so-far curves (one panel per hp choice) with confidence bands over seeds."""
    fig, axes = plt.subplots(1, len(cur), figsize=(5 * len(cur), 3.6), sharey=True, squeeze=False)
    colors = dict(zip(sorted(next(iter(cur.values()))["searcher"].unique()), sns.color_palette()))
    for ax, (hp, c) in zip(axes[0], cur.items()):
        for name, g in c.groupby("searcher"):
            ax.plot(g["evaluations"], g["mean"], label=name, color=colors.get(name))
            ax.fill_between(g["evaluations"], g["lo"].clip(0, 1), g["hi"].clip(0, 1), alpha=0.12,
                            color=colors.get(name))
        ax.set(title=HP_LABEL[hp], xlabel="simulator evaluations", ylabel="best so far / best known",
               xscale="log", ylim=(None, 1.01))
    axes[0, -1].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Best-so-far at equal budgets (bands: {ci:.0%} CI over seeds)", fontsize=11)
    fig.tight_layout()
    return fig


def lottery(result: dict) -> plt.Figure:
    """Left: P(searcher is best) by hp choice. Right: rank distribution under a random draw."""
    p = result["p_best"].melt(id_vars="searcher", var_name="hp", value_name="p")
    p["hp"] = p["hp"].str.replace("p_best_", "").map(HP_LABEL)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.2, 1]})
    sns.barplot(p, x="searcher", y="p", hue="hp", hue_order=[HP_LABEL[h] for h in HP_ORDER], ax=axes[0])
    axes[0].set(ylabel="P(best on a task and seed)", xlabel="", title="Who wins depends on the hp draw")
    axes[0].legend(fontsize=8, title="")
    axes[0].tick_params(axis="x", labelrotation=30)
    r = result["ranks"]
    sns.heatmap(r, annot=True, fmt=".2f", cmap="mako_r", vmin=0, vmax=1, cbar=False, ax=axes[1])
    axes[1].set(xlabel="rank (1 = best)", ylabel="", title="Rank distribution, random hp draw")
    fig.tight_layout()
    return fig


def head_to_head(s: pd.DataFrame, a: str, b: str, problem: str) -> plt.Figure:
    d = s[(s["problem"] == problem) & s["searcher"].isin([a, b])]
    fig, ax = plt.subplots(figsize=(max(5, 2.2 * d["task"].nunique()), 3.4))
    sns.boxplot(d, x="task", y="norm_best", hue="searcher", hue_order=[a, b], ax=ax, fliersize=0)
    sns.stripplot(d, x="task", y="norm_best", hue="searcher", hue_order=[a, b], dodge=True, size=2.5,
                  color="k", alpha=0.4, ax=ax, legend=False)
    ax.set(xlabel="", ylabel="best / best known", title=f"{a.upper()} vs {b.upper()} on {problem} (equal budgets)")
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def empty(message: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return fig

