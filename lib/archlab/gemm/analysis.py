"""Tile-size analysis tables for the study notebook."""

from __future__ import annotations

import numpy as np
import pandas as pd

from archlab.gemm import analytical

GROUP = ["source", "device", "kernel", "dtype", "layout", "M", "N", "K"]


def tiled_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows of tile-parametrized kernels with a measured runtime."""
    return df[df["tile_m"].notna() & df["runtime_ms"].notna()]


def best_tiles(df: pd.DataFrame, baseline_tile: int) -> pd.DataFrame:
    """Per shape: the fastest tile, its speedup over ``baseline_tile``, and the power / energy
    change of that choice (NA without power data). Shapes lacking the baseline tile are skipped."""
    d = tiled_rows(df)
    out = []
    for key, g in d.groupby(GROUP, dropna=False, sort=True):
        g = g.groupby("tile_m", as_index=False)[["runtime_ms", "power_w", "energy_j"]].median()
        base = g[g["tile_m"] == baseline_tile]
        if base.empty:
            continue
        b = g.loc[g["runtime_ms"].astype(float).idxmin()]
        rb, pb = float(base["runtime_ms"].iloc[0]), base["power_w"].iloc[0]
        out.append({**dict(zip(GROUP, key, strict=True)), "best_tile": int(b["tile_m"]),
                    "best_ms": float(b["runtime_ms"]), "baseline_ms": rb,
                    "speedup_vs_baseline": rb / float(b["runtime_ms"]),
                    "worst_over_best": float(g["runtime_ms"].max()) / float(b["runtime_ms"]),
                    "power_change_pct": (float(b["power_w"]) / float(pb) - 1) * 100
                    if pd.notna(pb) and pd.notna(b["power_w"]) else np.nan})
    return pd.DataFrame(out)


def tile_profile(df: pd.DataFrame) -> pd.DataFrame:
    """Per (source, kernel, tile): median runtime relative to the best tile of the same shape."""
    d = tiled_rows(df).copy()
    rt = d["runtime_ms"].astype(float)
    d["rel_runtime"] = rt / rt.groupby([d[c] for c in GROUP], dropna=False).transform("min")
    return (d.groupby(["source", "kernel", "tile_m"])["rel_runtime"]
            .agg(["median", "mean", "count"]).reset_index())


def occupancy_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per GPU tile configuration: threads, shared memory, blocks per SM, occupancy, lane use."""
    d = df[(df["backend"] == "cuda") & df["tile_m"].notna()]
    if d.empty:
        return pd.DataFrame()
    d = d.drop_duplicates(["device", "kernel", "tile_m", "tile_n", "tile_k", "warps", "stages", "smem_bytes"])
    a = analytical.predict(d)
    return pd.DataFrame({
        "device": d["device"], "kernel": d["kernel"], "tile": d["tile_m"].astype(str) + "x"
        + d["tile_n"].astype(str) + "x" + d["tile_k"].astype(str), "warps": d["warps"],
        "smem_bytes": d["smem_bytes"], "blocks_per_sm": a["blocks_per_sm"], "occupancy": a["occupancy"],
        "lane_util": a["lane_util"],
    }).reset_index(drop=True)
