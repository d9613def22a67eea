"""Figures of the GEMM study (each saved with :func:`archlab.core.plots.save_fig`)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.core import paths, plots
from archlab.gemm import analytical, schema, specs

STUDY = "gemm"
MODEL_ORDER = ["analytical", "wave-loglinear", "gpperf-rf", "analytical-gbm"]


def save(fig: plt.Figure, name: str) -> Path:
    return plots.save_fig(fig, paths.figures_dir(STUDY) / f"{name}.png")


def contamination_timeline(df: pd.DataFrame, mask: np.ndarray, busy_pct: float) -> plt.Figure:
    """Utilisation at the power sample and runtime over the sweep's time; flagged rows marked."""
    t = pd.to_datetime(df["timestamp"], utc=True)
    fig, axes = plt.subplots(2, 1, figsize=(9, 4.6), sharex=True)
    u = df["util_at_sample_pct"].astype(float)
    axes[0].scatter(t[~mask], u[~mask], s=3, alpha=0.4, label="kept")
    axes[0].scatter(t[mask], u[mask], s=3, alpha=0.4, color="C3", label="contaminated (rule)")
    axes[0].axhline(busy_pct, color="grey", ls=":", lw=1)
    axes[0].set(ylabel="GPU util at sample %")
    axes[0].legend(fontsize=8, markerscale=3)
    rt = df["runtime_ms"].astype(float)
    axes[1].scatter(t[~mask], rt[~mask], s=3, alpha=0.4)
    axes[1].scatter(t[mask], rt[mask], s=3, alpha=0.4, color="C3")
    axes[1].set(yscale="log", ylabel="runtime ms", xlabel="time (UTC)")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def per_shape_error(err: pd.DataFrame) -> plt.Figure:
    """Held-out median relative error per shape, one marker per model (shapes sorted by the
    boosting model's error)."""
    wide = err.pivot(index="shape", columns="model", values="median_ape")
    order = wide["analytical-gbm"].sort_values().index if "analytical-gbm" in wide else wide.index
    wide = wide.loc[order]
    fig, ax = plt.subplots(figsize=(10, 4))
    x = np.arange(len(wide))
    for i, m in enumerate([m for m in MODEL_ORDER if m in wide] + [m for m in wide if m not in MODEL_ORDER]):
        ax.plot(x, wide[m].to_numpy(), "o", ms=4, label=m, color=f"C{i}")
    ax.set(yscale="log", ylabel="held-out median |error| %", xticks=x)
    ax.set_xticklabels(wide.index, rotation=90, fontsize=7)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def extrapolation(ext: pd.DataFrame) -> plt.Figure:
    """Median relative error per held-out value of M, N and K, per model."""
    axes_ = [a for a in ("M", "N", "K") if a in set(ext["axis"])]
    fig, axes = plt.subplots(1, len(axes_), figsize=(4.2 * len(axes_), 3.6), squeeze=False)
    for ax, a in zip(axes[0], axes_, strict=True):
        g = ext[ext["axis"] == a]
        vals = sorted(g["held_out"].unique())
        models = [m for m in MODEL_ORDER if m in set(g["model"])]
        w = 0.8 / max(len(models), 1)
        for i, m in enumerate(models):
            y = [float(g[(g["model"] == m) & (g["held_out"] == v)]["median_ape"].iloc[0]) for v in vals]
            ax.bar(np.arange(len(vals)) + i * w, y, w, label=m, color=f"C{i}")
        ax.set(yscale="log", title=f"leave one {a} out", xlabel=f"held-out {a}", ylabel="median |error| %")
        ax.set_xticks(np.arange(len(vals)) + 0.4 - w / 2)
        ax.set_xticklabels([str(v) for v in vals], fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def pred_vs_measured(rows: pd.DataFrame, level: float) -> plt.Figure:
    """Final test shapes. Left: predicted vs measured runtime (log-log), the boosting model
    with its split-conformal interval. Right: predicted / measured per shape and model (median
    over the shape's rows, whiskers: 5th-95th percentile), the interval as a band."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1, 1.4]})
    y = rows["y_true"].to_numpy(float)
    models = [m for m in MODEL_ORDER if m in rows]
    for i, m in enumerate(models):
        if m == "analytical-gbm" and "lo" in rows:
            p = rows[m].to_numpy(float)
            ax.errorbar(y, p, yerr=[p - rows["lo"].to_numpy(float), rows["hi"].to_numpy(float) - p], fmt="o", ms=3,
                        alpha=0.5, lw=0.6, color=f"C{i}", label=f"{m} ({level:.0%} interval)")
        else:
            ax.plot(y, rows[m].to_numpy(float), ".", ms=3, alpha=0.4, color=f"C{i}", label=m)
    lo, hi = float(np.nanmin(y)) / 1.5, float(np.nanmax(y)) * 1.5
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="measured runtime ms", ylabel="predicted runtime ms",
           title="final test shapes")
    ax.legend(fontsize=7)
    shapes = list(dict.fromkeys(rows["shape"]))
    w = 0.8 / max(len(models), 1)
    for i, m in enumerate(models):
        r = rows[m].to_numpy(float) / y
        for j, sh in enumerate(shapes):
            rr = r[(rows["shape"] == sh).to_numpy()]
            q5, q50, q95 = np.percentile(rr, [5, 50, 95])
            bx.errorbar(j + i * w - 0.4 + w / 2, q50, yerr=[[q50 - q5], [q95 - q50]], fmt="o", ms=4, color=f"C{i}",
                        label=m if j == 0 else None)
    if "lo" in rows:
        half = float(np.median(rows["hi"] / rows["analytical-gbm"]))
        bx.axhspan(1 / half, half, color="grey", alpha=0.15, label=f"{level:.0%} interval (GBM)")
    bx.axhline(1.0, color="k", lw=0.8)
    bx.set(yscale="log", ylabel="predicted / measured", xticks=range(len(shapes)))
    bx.set_xticklabels(shapes, rotation=20, fontsize=8)
    bx.legend(fontsize=7)
    fig.tight_layout()
    return fig


def roofline(df: pd.DataFrame) -> plt.Figure:
    """Achieved GFLOP/s vs arithmetic intensity (FLOPs / modelled DRAM bytes) with the
    device's roof and ridge point (per dtype)."""
    a = analytical.predict(df)
    x = a["intensity"].to_numpy(float)
    y = schema.flops(df) / (df["runtime_ms"].to_numpy(float) * 1e6)
    dev = str(df["device"].iloc[0])
    backend = str(df["backend"].iloc[0])
    spec = specs.get(dev, fallback="generic-cpu" if backend == "cpu" else None)
    per = spec.units if spec.kind == "cpu" else 1  # CPU rows are single-thread: one core's roof
    fig, ax = plt.subplots(figsize=(6, 4.4))
    xs = np.logspace(np.log10(max(x.min() / 3, 1e-2)), np.log10(x.max() * 3), 200)
    for i, dt in enumerate(sorted(df["dtype"].dropna().unique())):
        m = (df["dtype"] == dt).to_numpy(bool)
        kern = df["kernel"].fillna("").to_numpy()
        for j, k in enumerate(sorted(set(kern[m]))):
            mm = m & (kern == k)
            ax.plot(x[mm], y[mm], "o", ms=3, alpha=0.5, label=f"{k} {dt}", color=f"C{2 * i + j}")
        peak = spec.peak_gflops(dt) / per
        bw = spec.mem_bw_gbs / (per if spec.kind == "cpu" and per > 1 else 1)
        ax.plot(xs, np.minimum(peak, bw * xs), "-", color=f"C{2 * i}", lw=1.2)
        ridge = peak / bw
        ax.axvline(ridge, color=f"C{2 * i}", ls=":", lw=1)
        ax.annotate(f"ridge {dt}: {ridge:.0f} FLOP/B", (ridge, peak), fontsize=7, rotation=90, va="top")
    ax.set(xscale="log", yscale="log", xlabel="arithmetic intensity (FLOP / modelled DRAM byte)",
           ylabel="achieved GFLOP/s", title=f"roofline: {spec.device}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cpu_runs(runs: dict, pairs: list[tuple[str, str]]) -> plt.Figure:
    """Harness runs: each pair's runtimes of the same configurations (second run vs first),
    and the 1-minute load average per visit of every run."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    key = ["kernel", "dtype", "tile_m", "M", "N", "K"]
    lo, hi = np.inf, 0.0
    colour = {n: f"C{i}" for i, n in enumerate(runs)}  # a pair takes its second run's colour
    for a, b in pairs:
        j = runs[a][0].merge(runs[b][0], on=key, suffixes=("_a", "_b"))
        axes[0].loglog(j["runtime_ms_a"], j["runtime_ms_b"], "o", ms=3, alpha=0.6, color=colour[b],
                       label=f"{b} vs {a}")
        lo, hi = min(lo, float(j["runtime_ms_a"].min()) / 1.5), max(hi, float(j["runtime_ms_a"].max()) * 1.5)
    if pairs:
        axes[0].plot([lo, hi], [lo, hi], "k--", lw=1)
        axes[0].legend(fontsize=8)
    axes[0].set(xlabel="first run: runtime ms", ylabel="second run: runtime ms", title="same configurations")
    for n, (_, v) in runs.items():
        if v is not None and len(v):
            t = pd.to_datetime(v["timestamp"], utc=True)
            axes[1].plot((t - t.min()).dt.total_seconds(), v["load_avg_1m"], ".", ms=2, color=colour[n], label=n)
    axes[1].set(xlabel="seconds into the run", ylabel="1-min load average (2 cores)", title="load per visit")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig


def note(text: str) -> plt.Figure:
    """A small figure holding only ``text`` (a part of the study that could not run)."""
    fig, ax = plt.subplots(figsize=(6, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=9)
    return fig
