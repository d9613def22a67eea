"""Figures of the dram_space study (each saved with :func:`archlab.core.plots.save_fig`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.core import plots
from archlab.problems.dram.config import KNOBS
from archlab.studies.dram_space.sensitivity import METRICS

TITLES = {"makespan_ns": "makespan", "energy_pJ": "energy"}


def sensitivity_heatmap(sens: pd.DataFrame, traces: list[str], path: Path) -> Path:
    """Median spread (max/min - 1) of each knob per trace, for makespan and energy."""
    order = [d.name for d in KNOBS]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    im = None
    for ax, m in zip(axes, METRICS, strict=True):
        piv = sens.pivot(index="knob", columns="trace", values=f"{m}_spread").reindex(order)[list(traces)]
        im = ax.imshow(np.log10(1e-3 + piv.values), cmap="viridis", vmin=-3, vmax=1, aspect="auto")
        ax.set_xticks(range(len(piv.columns)), piv.columns, rotation=30, ha="right")
        ax.set_yticks(range(len(order)), order)
        for (i, j), v in np.ndenumerate(piv.values):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.3 else "black")
        ax.grid(False)
        ax.set_title(f"{TITLES[m]}: median spread over contexts")
    fig.colorbar(im, ax=axes, label="log10(0.001 + spread)")
    return plots.save_fig(fig, path)


def knob_effects(eff: pd.DataFrame, traces: list[str], metric: str, path: Path) -> Path:
    """Geometric-mean ratio of ``metric`` per knob value to the context's own value."""
    fig, axes = plt.subplots(2, 5, figsize=(14, 5.5))
    for ax, dim in zip(axes.flat, KNOBS, strict=False):
        sub = eff[eff["knob"] == dim.name]
        for t in traces:
            s = sub[sub["trace"] == t]
            ax.plot(range(len(s)), s[f"{metric}_ratio"], marker="o", ms=3, label=t)
        ax.set_xticks(range(dim.n), [str(v) for v in dim.values], rotation=45, ha="right", fontsize=7)
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_title(dim.name, fontsize=9)
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"{TITLES[metric]} relative to the context's value")
    fig.tight_layout()
    return plots.save_fig(fig, path)


def fidelity(cmp: pd.DataFrame, path: Path) -> Path:
    """Our makespan and energy against DRAMSys 4.0 on the calibration runs (log-log)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    for ax, m in zip(axes, METRICS, strict=True):
        for t, g in cmp.groupby("trace", sort=False):
            ax.scatter(g[m], g["sim_" + m], s=10, label=t)
        lo, hi = cmp[m].min() * 0.8, cmp[m].max() * 1.25
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.minorticks_off()
        ax.set_xlabel(f"DRAMSys 4.0 {m}")
        ax.set_ylabel(f"archlab {m}")
        ax.set_title(f"{TITLES[m]}: {len(cmp)} runs")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return plots.save_fig(fig, path)
