"""Figures of the marl study (deterministic PNGs via ``save_fig``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.analysis import stats
from archlab.core import paths
from archlab.core.plots import save_fig

LABELS = {"marl": "MARL (one agent per knob)", "ppo": "PPO (single agent, binned continuous action)"}


def curves(runs: pd.DataFrame, xs: np.ndarray, P: Any, seed: int) -> Path:
    """Best-so-far normalized score per task (kept at evaluation counts ``xs``): mean over seeds
    with a bootstrap band."""
    task_list = list(dict.fromkeys(runs["task"]))
    ncol = min(4, len(task_list))
    nrow = int(np.ceil(len(task_list) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.9 * nrow), squeeze=False, sharex=True)
    for ax, task in zip(axes.flat, task_list):
        sub = runs[runs["task"] == task]
        for method, color in (("marl", "C0"), ("ppo", "C1")):
            r = sub[sub["method"] == method]
            long = pd.DataFrame([{"task": task, "seed": s, "step": x, "score": y}
                                 for s, c in zip(r["seed"], r["curve"]) for x, y in zip(xs, c)])
            b = stats.bootstrap_curve(long, "score", "step", n_boot=300, level=P.ci, seed=seed)
            ax.plot(b["step"], b["mean"], color=color, label=LABELS[method])
            ax.fill_between(b["step"], b["lo"], b["hi"], color=color, alpha=0.2, linewidth=0)
        ax.set_xscale("log")
        ax.set_title(task, fontsize=10)
        ax.set_ylim(top=1.005)
    for ax in axes.flat[len(task_list):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("evaluations")
    for ax in axes[:, 0]:
        ax.set_ylabel("best normalized score")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Best-so-far score (1 = exact optimum), mean over {P.seeds} seeds, {P.ci:.0%} bootstrap band",
                 fontsize=10)
    fig.tight_layout()
    return save_fig(fig, paths.figures_dir("marl") / "curves.png")


def paired_differences(pairs: pd.DataFrame, tests: pd.DataFrame, P: Any) -> Path:
    """Paired differences MARL - PPO per task (one dot per seed) with the overall mean and CI:
    best score and AUC (the claims, with the equivalence band) and log10 evaluations to the
    exact optimum (descriptive; > 0 = MARL faster)."""
    panels = (("d_best", "best normalized score", True), ("d_auc", "AUC of best-so-far", True),
              ("d_log_first", "log10 evals to optimum (PPO − MARL)", False))
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.4), sharey=True)
    task_list = list(dict.fromkeys(pairs["task"]))
    by = {t["outcome"]: t for _, t in tests.iterrows()}
    for ax, (col, title, band) in zip(axes, panels):
        t = by[col]
        for i, task in enumerate(task_list):
            d = pairs.loc[pairs["task"] == task, col].to_numpy()
            jitter = np.linspace(-0.15, 0.15, len(d)) if len(d) > 1 else np.zeros(1)
            ax.scatter(d, i + jitter, s=14, color="C2", zorder=3)
        y = len(task_list) + 0.3
        ax.errorbar([t["mean"]], [y], xerr=[[t["mean"] - t["lo"]], [t["hi"] - t["mean"]]], fmt="D", color="k",
                    capsize=4, zorder=4)
        ax.axvline(0, color="0.3", linewidth=1)
        if band:
            ax.axvspan(-P.equivalence_margin, P.equivalence_margin, color="0.85", zorder=0,
                       label=f"±{P.equivalence_margin} (no practical difference)")
            ax.legend(fontsize=7, loc="lower left")
        ax.set_yticks(list(range(len(task_list))) + [y], task_list + [f"all (n={t['n']})"])
        ax.set_xlabel(f"MARL − PPO, {title}" if band else title, fontsize=9)
        ax.set_title(f"{t['verdict']}; MDE {t['mde']:.3g}, Wilcoxon p {t['wilcoxon_p']:.2g}", fontsize=9)
    fig.tight_layout()
    return save_fig(fig, paths.figures_dir("marl") / "paired.png")
