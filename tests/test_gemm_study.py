"""Tile analysis and study helpers (skip logic, side-by-side tables)."""

from __future__ import annotations

import pandas as pd
import pytest
from archlab.gemm import analysis, schema
from archlab.studies.gemm import run as study
from archlab.studies.gemm.params import GemmParams


def tiled_table() -> pd.DataFrame:
    rows = []
    for M in (64, 128):
        for t, rt, p in ((4, 8.0, 40.0), (16, 2.0, 50.0), (32, 1.0, 45.0)):
            rows.append({"source": "s", "device": "NVIDIA GeForce RTX 4070", "backend": "cuda",
                         "kernel": "gpperf-tiled-smem", "dtype": "float32", "layout": "nn", "M": M, "N": 64,
                         "K": 64, "tile_m": t, "tile_n": t, "tile_k": t, "warps": -(-t * t // 32),
                         "smem_bytes": 8 * t * t, "runtime_ms": rt * M / 64, "power_w": p, "sensor": "fake"})
    return schema.from_records(rows)


def test_best_tiles_and_profile():
    bt = analysis.best_tiles(tiled_table(), baseline_tile=16)
    assert bt["best_tile"].tolist() == [32, 32]
    assert bt["speedup_vs_baseline"].tolist() == pytest.approx([2.0, 2.0])
    assert bt["worst_over_best"].tolist() == pytest.approx([8.0, 8.0])
    assert bt["power_change_pct"].tolist() == pytest.approx([-10.0, -10.0])
    assert analysis.best_tiles(tiled_table(), baseline_tile=7).empty  # no such baseline
    prof = analysis.tile_profile(tiled_table()).set_index("tile_m")["median"]
    assert prof.to_dict() == pytest.approx({4: 8.0, 16: 2.0, 32: 1.0})
    occ = analysis.occupancy_table(tiled_table())
    assert occ.set_index("tile")["blocks_per_sm"].to_dict() == {"4x4x4": 24, "16x16x16": 6, "32x32x32": 1}


def test_gpperf_section_skipped_with_reason(tmp_path):
    df, why = study.load_gpperf(GemmParams(gpperf_archive=str(tmp_path / "missing.tar.gz")), seed=0)
    assert df is None and "not found" in why and "55468e19" in why
    df, why = study.load_gpperf(GemmParams(gpperf_archive=None), seed=0)
    assert df is None and "null" in why


def test_side_by_side_and_metric():
    t = pd.DataFrame([{"model": "m", "split": s, "target": "runtime_ms", "r2": r, "mean_ape": 1.0,
                       "median_ape": 2.0} for s, r in (("random", 0.9), ("shape", 0.5))])
    wide = study.side_by_side(t, index=("model", "target"))
    assert wide[("random", "r2")].iloc[0] == 0.9 and wide[("shape", "r2")].iloc[0] == 0.5
    assert study.metric(t, split="shape", col="r2") == 0.5
    assert pd.isna(study.metric(t, split="diagonal", col="r2"))


def test_cpu_time_view():
    df = schema.from_records([{"M": 8, "N": 8, "K": 8, "runtime_ms": 4.0, "cpu_time_ms": 2.0, "threads": 2,
                               "sensor": "none"}])
    v = study.cpu_time_view(df)
    assert v["runtime_ms"].iloc[0] == 1.0 and v["gflops"].iloc[0] == pytest.approx(2 * 512 / 1e6)
