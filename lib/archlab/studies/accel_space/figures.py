"""Figures of the accel_space study (deterministic PNGs through ``core.plots.save_fig``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.analysis.pareto import TrueFront, pareto_front
from archlab.core.plots import save_fig

_LABEL = {"energy_pJ": "energy (pJ)", "latency_cycles": "latency (cycles)"}


def _label(m: str) -> str:
    return _LABEL.get(m, m)


def _short(name: str) -> str:
    return name.split("/", 1)[-1]


def _steps(ax, front: pd.DataFrame, x: str, y: str, **kw) -> None:
    f = front.sort_values(x)
    ax.step(f[x], f[y], where="post", **kw)


def fronts(tables: dict[str, pd.DataFrame], tfs: dict[str, TrueFront], path: Path) -> Path:
    """Every tabulated design (coloured by dataflow) and the exact energy-latency front, per layer."""
    n = len(tables)
    fig, axes = plt.subplots(1, n, figsize=(5.4 * n, 4.4), squeeze=False)
    for ax, (name, df) in zip(axes[0], tables.items()):
        tf = tfs[name]
        x, y = tf.objectives[1], tf.objectives[0]
        for i, (flow, g) in enumerate(df.groupby("dataflow", sort=False, observed=True)):
            ax.scatter(g[x], g[y], s=7, alpha=0.45, color=f"C{i}", label=str(flow), linewidths=0)
        _steps(ax, tf.front, x, y, color="k", lw=1.2)
        ax.scatter(tf.front[x], tf.front[y], s=18, facecolors="none", edgecolors="k", label="exact front")
        ax.set(xscale="log", yscale="log", xlabel=_label(x), ylabel=_label(y),
               title=f"{_short(name)}: {len(df)} designs, {len(tf.front)} on the front")
        ax.legend(fontsize=8, title="dataflow", title_fontsize=8)
    fig.tight_layout()
    return save_fig(fig, path)


def knob_effects(effects: pd.DataFrame, path: Path) -> Path:
    """Share of the variance of log energy / log latency explained by each knob alone (exact)."""
    names = list(dict.fromkeys(effects.table))
    fig, axes = plt.subplots(1, len(names), figsize=(5.4 * len(names), 4.2), squeeze=False, sharey=True)
    for ax, name in zip(axes[0], names):
        e = effects[effects.table == name]
        metrics = list(dict.fromkeys(e.metric))
        knobs = list(dict.fromkeys(e.knob))
        ypos = np.arange(len(knobs))
        h = 0.8 / len(metrics)
        for i, m in enumerate(metrics):
            s = e[e.metric == m].set_index("knob").loc[knobs, "share"]
            ax.barh(ypos + (i - (len(metrics) - 1) / 2) * h, s, height=h, label=f"log {_label(m)}")
        ax.set(yticks=ypos, yticklabels=knobs, xlim=(0, 1), xlabel="share of variance (main effect)",
               title=_short(name))
        ax.legend(fontsize=8)
    axes[0][0].invert_yaxis()  # shared y axis: once
    fig.tight_layout()
    return save_fig(fig, path)


def hv_curves(curves: pd.DataFrame, path: Path) -> Path:
    """Mean hypervolume ratio vs budget per searcher, with 95% bootstrap CIs over seeds."""
    names = list(dict.fromkeys(curves.table))
    fig, axes = plt.subplots(1, len(names), figsize=(5.4 * len(names), 4.2), squeeze=False)
    styles = {"multi-objective": "-", "scalar": "--", "baseline": ":"}
    for ax, name in zip(axes[0], names):
        c = curves[curves.table == name]
        for i, (s, g) in enumerate(c.groupby("searcher", sort=False)):
            g = g.sort_values("budget")
            ax.plot(g.budget, g["mean"], styles[g.kind.iloc[0]], marker="o", ms=3, color=f"C{i}",
                    label=f"{s} ({g.kind.iloc[0]})")
            ax.fill_between(g.budget, g.lo, g.hi, color=f"C{i}", alpha=0.15, lw=0)
        ax.set(xscale="log", xlabel="evaluations", ylabel="hypervolume ratio (found / exact)",
               title=_short(name), ylim=(0, 1.02))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_fig(fig, path)


def found_fronts(tfs: dict[str, TrueFront], logs: dict[tuple[str, str], pd.DataFrame], budget: int,
                 path: Path) -> Path:
    """The exact front and each searcher's found front (its non-dominated evaluated points) after
    ``budget`` evaluations, first seed."""
    names = list(tfs)
    fig, axes = plt.subplots(1, len(names), figsize=(5.4 * len(names), 4.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        tf = tfs[name]
        x, y = tf.objectives[1], tf.objectives[0]
        _steps(ax, tf.front, x, y, color="k", lw=2.2, alpha=0.35, label="exact front")
        searchers = [s for (t, s) in logs if t == name]
        for i, s in enumerate(searchers):
            log = logs[(name, s)].head(budget)
            f = pareto_front(log, list(tf.objectives))
            _steps(ax, f, x, y, color=f"C{i}", lw=1.1, label=f"{s}: {len(f)} pts, HV {tf.ratio(log):.3f}")
            ax.scatter(f[x], f[y], s=10, color=f"C{i}")
        ax.set(xscale="log", yscale="log", xlabel=_label(x), ylabel=_label(y),
               title=f"{_short(name)}: found after {budget} evaluations (seed 0)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save_fig(fig, path)
