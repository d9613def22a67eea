"""Figures of the proxy study (tables from :mod:`archlab.studies.proxy.evaluate` / ``proxy_search``)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from archlab.studies.proxy.evaluate import MODEL_LABELS


def pred_vs_sim(pred: pd.DataFrame, metrics: Sequence[str], model: str, test_set: str = "logged") -> plt.Figure:
    """Predicted vs simulated, one panel per metric, points coloured by workload (log-log)."""
    d = pred[(pred["model"] == model) & (pred["test_set"] == test_set)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        m = d[d["metric"] == metric]
        sns.scatterplot(data=m, x="simulated", y="predicted", hue="workload", s=12, alpha=0.6,
                        linewidth=0, ax=ax, legend=ax is axes[0][0])
        lo = float(min(m["simulated"].min(), m["predicted"].min()))
        hi = float(max(m["simulated"].max(), m["predicted"].max()))
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
        ax.set(xscale="log", yscale="log", title=metric, xlabel=f"simulated {metric}",
               ylabel=f"predicted {metric}")
    fig.suptitle(f"{MODEL_LABELS.get(model, model)} proxy on held-out {test_set} configurations")
    fig.tight_layout()
    return fig


def error_bars(err: pd.DataFrame, value: str = "mape_pct") -> plt.Figure:
    """``value`` per model and metric, one panel per test set (mean over workloads, log scale)."""
    sets = list(dict.fromkeys(err["test_set"]))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.6 * len(sets), 3.8), squeeze=False, sharey=True)
    for ax, s in zip(axes[0], sets):
        sns.barplot(data=err[err["test_set"] == s], x="metric", y=value, hue="model", ax=ax,
                    errorbar=None, legend=ax is axes[0][-1])
        ax.set(yscale="log", title=s.replace("_", " "), xlabel="", ylabel=value.replace("_pct", " (%)"))
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle("proxy error (mean over workloads; log scale)")
    fig.tight_layout()
    return fig


def speed_bars(speed: pd.DataFrame) -> plt.Figure:
    """Evaluations per second of every problem in ``speed`` (batched and one at a time)."""
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sns.barplot(data=speed, x="problem", y="evals_per_s", hue="mode", ax=ax, errorbar=None)
    ax.set(yscale="log", xlabel="", ylabel="evaluations / s (log)", title="proxy vs simulator throughput")
    fig.tight_layout()
    return fig


def search_outcomes(res: pd.DataFrame) -> plt.Figure:
    """Simulated reward of proxy-found configurations vs searching the simulator directly."""
    cols = {"sim_reward_top1": "proxy top-1, re-simulated", "sim_reward_topk": "proxy top-k, re-simulated",
            "direct_reward": "search on simulator"}
    long = res.melt(id_vars=["workload", "searcher", "seed"], value_vars=list(cols), var_name="how",
                    value_name="simulated reward").replace({"how": cols})
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * res["searcher"].nunique() + 3), 3.8))
    sns.stripplot(data=long, x="searcher", y="simulated reward", hue="how", dodge=True, ax=ax, size=5,
                  jitter=0.15)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set(ylim=(min(0.0, float(np.nanmin(long["simulated reward"]))) , 1.05), xlabel="",
           title="does the proxy-found best configuration meet the target? (1 = yes)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
