"""Figures of the proxy study (each saved with :func:`archlab.core.plots.save_fig`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.core import plots

PAPER_NRMSE_PCT = 0.61


MODEL_STYLES = {"gbr": ("-", "o"), "rf": ("--", "s"), "mlp": (":", "^")}


def learning_curve(lc: pd.DataFrame, path: Path, max_nrmse_pct: float) -> Path:
    """nRMSE % and Spearman over the whole rest of the space vs training simulations (mean over
    repeats). One colour per table, one line style and marker per model; one row per metric."""
    metrics = list(dict.fromkeys(lc["metric"]))
    colours = {t: f"C{i % 10}" for i, t in enumerate(dict.fromkeys(lc["table"]))}
    fig, axes = plt.subplots(len(metrics), 2, figsize=(11, 3.8 * len(metrics)), squeeze=False,
                             layout="constrained")
    for row, m in zip(axes, metrics):
        sub = lc[lc["metric"] == m]
        for (table, model), g in sub.groupby(["table", "model"], sort=False):
            g = g.groupby("n_train", as_index=False)[["nrmse_pct", "spearman"]].mean()
            label = f"{table.split('/', 1)[-1]} ({model})"
            ls, marker = MODEL_STYLES.get(model, ("-.", "D"))
            style = {"color": colours[table], "ls": ls, "marker": marker, "label": label}
            row[0].plot(g["n_train"], g["nrmse_pct"], **style)
            row[1].plot(g["n_train"], g["spearman"], **style)
        row[0].axhline(PAPER_NRMSE_PCT, color="0.5", ls=":", lw=1.2, label="ArchGym RF 0.61%")
        row[0].axhline(max_nrmse_pct, color="k", ls="--", lw=1, label=f"claim threshold {max_nrmse_pct:g}%")
        row[0].set(xscale="log", yscale="log", xlabel="training simulations", ylabel="nRMSE % (whole space)",
                   title=f"{m}: error over the rest of the space")
        row[1].set(xscale="log", xlabel="training simulations", ylabel="Spearman (whole space)",
                   title=f"{m}: rank agreement")
        sizes = sorted(set(sub["n_train"]))
        for ax in row:
            ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
            ax.xaxis.set_minor_locator(plt.NullLocator())
        row[0].legend(fontsize=7, loc="lower left", ncol=2)
    return plots.save_fig(fig, path)


def heldout(ho: pd.DataFrame, path: Path, min_spearman: float) -> Path:
    """Spearman over the held-out trace's whole space (trained on the other traces)."""
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    labels = [h.split("/", 1)[-1] for h in ho["held_out"]]
    ax.bar(labels, ho["spearman"], color="C0")
    for i, v in enumerate(ho["spearman"]):
        ax.text(i, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    ax.axhline(min_spearman, color="C3", ls="--", lw=1, label=f"claim threshold {min_spearman:g}")
    ax.set(ylim=(min(0.0, float(ho["spearman"].min()) - 0.05), 1.05), ylabel="Spearman",
           title="held-out trace: rank agreement over its whole space")
    ax.legend(fontsize=8)
    return plots.save_fig(fig, path)


def search_cost(sc: pd.DataFrame, path: Path) -> Path:
    """Simulations until a target-meeting configuration: proxy pipeline (training counted) vs
    uniform random search (exact median and interquartile range)."""
    tables = list(dict.fromkeys(sc["table"]))
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.8), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], tables):
        g = sc[sc["table"] == name]
        s = float(g["target_share"].iloc[0])
        q = [math_quantile(s, p) for p in (0.25, 0.5, 0.75)]
        ax.axhspan(q[0], q[2], color="0.85", label="random search, IQR")
        ax.axhline(q[1], color="k", lw=1, label="random search, median")
        ok = g[g["hit"]]
        ax.scatter(ok["n_train"], ok["simulations"], color="C0", zorder=3, label="proxy: training + verified")
        bad = g[~g["hit"]]
        if len(bad):
            ax.scatter(bad["n_train"], bad["simulations"], color="C3", marker="x", zorder=3, label="proxy: no hit")
        ax.plot(sorted(set(g["n_train"])), sorted(set(g["n_train"])), color="C0", ls=":", lw=1,
                label="training alone")
        ax.set(xscale="log", yscale="log", xlabel="training simulations", title=name.split("/", 1)[-1])
        sizes = sorted(set(g["n_train"]))
        ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
        ax.xaxis.set_minor_locator(plt.NullLocator())
    axes[0][0].set_ylabel("simulations until the target is met")
    axes[0][0].legend(fontsize=7)
    return plots.save_fig(fig, path)


def math_quantile(share: float, p: float) -> float:
    """Quantile ``p`` of random search's (geometric) simulations to meet a target of tail share ``share``."""
    if share >= 1:
        return 1.0
    return float(np.ceil(np.log1p(-p) / np.log1p(-share)))
