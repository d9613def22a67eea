"""Study steps the notebook calls: host sweep, GPPerf loading, reanalysis tables, figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from archlab.core import paths
from archlab.gemm import cpu, importers, models, schema, sensors
from archlab.studies.gemm.params import GemmParams

REFERENCE_COMMAND = "archlab gemm measure --backend cuda --reference"


def measure_host(P: GemmParams, seed: int) -> tuple[pd.DataFrame, str]:
    """Run the CPU sweep of ``P.cpu``; save ``data/gemm/cpu.csv``; return (rows, sensor name)."""
    s = P.cpu
    if s.sensor == "auto":
        try:
            sens = sensors.RaplSensor()
        except sensors.SensorUnavailable:
            sens = sensors.NoSensor()
    else:
        sens = sensors.make(s.sensor)
    shapes = cpu.shape_grid(s.m, s.n, s.k, s.max_shapes, seed)
    cfgs = cpu.grid(shapes, s.tiles, s.tiled_dtype, s.blas, s.threads, s.dtypes, s.layouts)
    df = cpu.measure(cfgs, s.warmup, s.repeats, s.min_time_s, seed=seed, sensor=sens)
    schema.save(df, paths.data_dir("gemm") / "cpu.csv")
    return df, sens.name


def cpu_time_view(df: pd.DataFrame) -> pd.DataFrame:
    """The CPU rows with runtime replaced by process CPU time / threads: an estimate of the
    uncontended runtime on a time-shared host (exact for one thread, optimistic for more)."""
    d = df[df["cpu_time_ms"].notna()].copy()
    d["runtime_ms"] = d["cpu_time_ms"].astype(float) / d["threads"].astype(float)
    d["gflops"] = schema.flops(d) / (d["runtime_ms"].astype(float) * 1e6)
    return d.reset_index(drop=True)


def archive_path(P: GemmParams) -> Path | None:
    """The GPPerf archive path (relative paths are relative to the repo root)."""
    if P.gpperf_archive is None:
        return None
    p = Path(P.gpperf_archive)
    return p if p.is_absolute() else paths.root() / p


def load_gpperf(P: GemmParams, seed: int) -> tuple[pd.DataFrame | None, str]:
    """(rows, "") or (None, why it was skipped)."""
    p = archive_path(P)
    if p is None:
        return None, "params gemm.gpperf_archive is null"
    if not p.is_file():
        return None, (f"GPPerf archive not found at {p} (obtain cutlass_profiling_20241111_195357.tar.gz from "
                      f"{importers.GPPERF_URL} at commit {importers.GPPERF_COMMIT})")
    df = importers.read_gpperf_cutlass(p)
    if P.gpperf_max_rows is not None and P.gpperf_max_rows < len(df):
        df = df.sample(P.gpperf_max_rows, random_state=seed).sort_index().reset_index(drop=True)
    return df, ""


def load_tiled(P: GemmParams) -> pd.DataFrame | None:
    """GPPerf's tiled-kernel CSVs when params name them."""
    if P.gpperf_tiled_time is None and P.gpperf_tiled_power is None:
        return None

    def rel(x):
        return None if x is None else (Path(x) if Path(x).is_absolute() else paths.root() / x)

    return importers.read_gpperf_tiled(rel(P.gpperf_tiled_time), rel(P.gpperf_tiled_power))


def hp(P: GemmParams) -> dict:
    return {"gpperf-rf": {"n_estimators": P.model.rf_trees}, "analytical-gbm": {"n_estimators": P.model.gbm_trees}}


def reanalysis(df: pd.DataFrame, P: GemmParams) -> tuple[pd.DataFrame, dict]:
    """Both models x both protocols, on all rows and without the busy-GPU tail."""
    tables, evs = [], {}
    tail = importers.gpperf_busy_tail(df)
    for label, d in (("all rows", df), ("without busy tail", df[~tail].reset_index(drop=True))):
        t, e = models.compare(d, seed=P.model.split_seed, folds=P.model.folds, hp=hp(P),
                              test_size=P.model.test_size)
        t.insert(0, "rows", label)
        tables.append(t)
        evs |= {(label, *k): v for k, v in e.items()}
    return pd.concat(tables, ignore_index=True), evs


def side_by_side(table: pd.DataFrame, index=("rows", "model", "target")) -> pd.DataFrame:
    """Metrics with the random split next to the held-out-shape split."""
    idx = [c for c in index if c in table.columns]
    wide = table.pivot_table(index=idx, columns="split", values=["r2", "mean_ape", "median_ape"], sort=False)
    wide = wide.reindex(columns=["random", "shape"], level=1)
    return wide.swaplevel(axis=1).sort_index(axis=1, level=0, sort_remaining=False).round(3)


def plot_pred_vs_meas(evs: dict, keys: list, target: str = "runtime_ms", title: str = "") -> plt.Figure:
    """Log-log predicted vs measured for each evaluation key (one panel each)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 4), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        p = evs[key].predictions
        p = p[p["target"] == target]
        ax.scatter(p["y_true"], p["y_pred"], s=6, alpha=0.4)
        lo = float(min(p["y_true"].min(), p["y_pred"].min()))
        hi = float(max(p["y_true"].max(), p["y_pred"].max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(xscale="log", yscale="log", xlabel=f"measured {target}", ylabel=f"predicted {target}",
               title=" / ".join(str(k) for k in key))
        ax.title.set_fontsize(9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_importances(imps: dict[str, pd.Series], top: int = 10) -> plt.Figure:
    """Horizontal bars of the top feature importances per model."""
    fig, axes = plt.subplots(1, len(imps), figsize=(4.5 * len(imps), 3.6), squeeze=False)
    for ax, (name, s) in zip(axes[0], imps.items(), strict=True):
        s = s.head(top)[::-1]
        ax.barh(s.index, s.to_numpy())
        ax.set(title=name, xlabel="importance")
    fig.tight_layout()
    return fig


def plot_tile_profile(prof: pd.DataFrame, baseline_tile: int) -> plt.Figure:
    """Median runtime relative to the per-shape best tile, per tile size."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for (src, kern), g in prof.groupby(["source", "kernel"]):
        ax.plot(g["tile_m"].astype(float), g["median"], "o-", label=f"{src}: {kern}")
    ax.axvline(baseline_tile, color="grey", ls=":", lw=1)
    ax.set(xscale="log", yscale="log", xlabel="tile size T", ylabel="runtime / best tile (median over shapes)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def metric(table: pd.DataFrame, **where) -> float:
    """One number from a metrics table (NaN when absent)."""
    col = where.pop("col")
    m = np.ones(len(table), bool)
    for k, v in where.items():
        m &= table[k].to_numpy() == v
    return float(table.loc[m, col].iloc[0]) if m.any() else float("nan")
