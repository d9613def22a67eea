"""Analytical and ML models, evaluation protocols."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archlab.gemm import analytical, models, schema, specs


def synthetic_gpu(n_shapes=24, seed=0, power=True) -> pd.DataFrame:
    """Rows whose runtime follows the analytical model times a smooth tile-dependent factor."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n_shapes):
        M, N, K = (int(x) for x in rng.choice([256, 512, 1024, 2048, 4096], 3))
        for t in (8, 16, 32):
            rows.append({"source": "test", "device": "NVIDIA GeForce RTX 4070", "backend": "cuda",
                         "kernel": "gpperf-tiled-smem", "dtype": "float32", "layout": "nn", "M": M, "N": N, "K": K,
                         "tile_m": t, "tile_n": t, "tile_k": t, "warps": -(-t * t // 32),
                         "smem_bytes": 8 * t * t, "runtime_ms": 1.0, "sensor": "none"})
    df = schema.from_records(rows)
    base = analytical.predict(df)["model_ms"].to_numpy()
    tile = df["tile_m"].to_numpy(float)
    df["runtime_ms"] = base * (1.5 + 0.3 * np.log2(tile / 8)) * rng.lognormal(0, 0.03, len(df))
    df["gflops"] = schema.flops(df) / (df["runtime_ms"].astype(float) * 1e6)
    if power:
        util = analytical.predict(df)["compute_ms"].to_numpy() / df["runtime_ms"].to_numpy(float)
        df["power_w"] = 30 + 150 * np.clip(util, 0, 1) + rng.normal(0, 1, len(df))
        df["energy_j"] = df["power_w"].astype(float) * df["runtime_ms"].astype(float) / 1e3
        df["sensor"] = "fake"
    return schema.validate(df)


def test_specs_lookup():
    s = specs.get("NVIDIA GeForce RTX 4070")
    assert s.units == 46 and s.max_threads_per_sm == 1536 and s.smem_per_sm_kib == 100
    assert specs.get("Some Unknown CPU", fallback="generic-cpu").device == "generic-cpu"
    with pytest.raises(KeyError, match="no specs for device"):
        specs.get("Voodoo 2")


def test_gpu_occupancy_and_waves():
    df = schema.from_records([{"device": "RTX 4070", "backend": "cuda", "kernel": "gpperf-tiled-smem",
                               "dtype": "float32", "M": 4096, "N": 4096, "K": 4096, "tile_m": t, "tile_n": t,
                               "tile_k": t, "warps": -(-t * t // 32), "smem_bytes": 8 * t * t} for t in (1, 8, 16, 32)])
    a = analytical.predict(df)
    # tile 32: 1024 threads -> 1 block/SM; tile 16: 256 threads -> 6 blocks; tile 1: 24-block limit
    assert a["blocks_per_sm"].tolist() == [24, 24, 6, 1]
    assert a["lane_util"].iloc[0] == pytest.approx(1 / 32)
    assert a["occupancy"].iloc[3] == pytest.approx(1024 / 1536)
    # bigger tiles stream less data from DRAM and the tile-1 kernel wastes 31 of 32 lanes
    assert a["tiled_bytes"].is_monotonic_decreasing
    assert a["model_ms"].iloc[0] > 10 * a["model_ms"].iloc[3]
    assert ((a["wave_eff"] > 0) & (a["wave_eff"] <= 1.0 + 1e-9)).all()


def test_cpu_cache_model_levels():
    df = schema.from_records([{"device": "AMD EPYC 7B13", "backend": "cpu", "kernel": "numba-tiled",
                               "dtype": "float32", "M": 256, "N": 256, "K": 256, "tile_m": t, "threads": 1}
                              for t in (4, 32, 128)] + [{"device": "AMD EPYC", "backend": "cpu",
                                                        "kernel": "numpy-blas", "dtype": "float32",
                                                        "M": 256, "N": 256, "K": 256, "threads": 2}])
    a = analytical.predict(df)
    assert a["ws_level"].tolist()[:3] == [1.0, 1.0, 2.0]  # 3*T^2*4 bytes vs 32 KiB L1 / 512 KiB L2
    assert a["lane_util"].iloc[0] == pytest.approx(0.5)  # 4 of 8 AVX2 fp32 lanes
    assert a["model_ms"].iloc[3] < a["model_ms"].iloc[1]  # BLAS on 2 threads beats the tiled kernel


def test_power_model_recovers_terms():
    df = synthetic_gpu(power=True)
    pm = analytical.PowerModel().fit(df)
    assert pm.idle_w == pytest.approx(30, abs=3)
    assert pm.a_w == pytest.approx(150, rel=0.1)
    pred = pm.predict(df)
    assert np.median(np.abs(pred - df["power_w"].to_numpy(float))) < 3
    with pytest.raises(ValueError, match="at least 3 rows"):
        analytical.PowerModel().fit(df.iloc[:2])


def test_gpperf_preprocess_clips_before_split():
    df = synthetic_gpu()
    X, Y = models.gpperf_preprocess(df, ["runtime_ms", "power_w"])
    assert list(X.columns) == models.GPPERF_FEATURES and len(X) == len(Y) == len(df)
    assert Y["runtime_ms"].max() <= df["runtime_ms"].astype(float).quantile(0.99) + 1e-12


@pytest.mark.parametrize("split", ["random", "shape"])
def test_evaluate_both_models(split):
    df = synthetic_gpu()
    for name in ("gpperf-rf", "analytical-gbm"):
        ev = models.evaluate(df, split, name, seed=1, folds=3, **({"n_estimators": 40}))
        m = ev.metrics.set_index("target")
        assert set(m.index) == set(schema.TARGETS)
        assert {"r2", "mean_ape", "median_ape", "r2_fold_mean", "r2_fold_sd"} <= set(m.columns)
        if split == "shape":
            # out-of-fold predictions cover every row once and no shape is in two folds
            p = ev.predictions[ev.predictions["target"] == "runtime_ms"]
            assert len(p) == len(df) and (p.groupby("shape")["fold"].nunique() == 1).all()
        if name == "analytical-gbm":
            assert m.loc["runtime_ms", "r2"] > 0.9 and m.loc["runtime_ms", "median_ape"] < 10
        assert ev.importances is not None and len(ev.importances) > 0


def test_analytical_model_beats_baseline_on_held_out_shapes():
    df = synthetic_gpu(n_shapes=30, seed=3)
    table, _ = models.compare(df, splits=("shape",), seed=0, folds=5,
                              hp={"gpperf-rf": {"n_estimators": 40}, "analytical-gbm": {"n_estimators": 80}})
    r = table[table["target"] == "runtime_ms"].set_index("model")["median_ape"]
    assert r["analytical-gbm"] < r["gpperf-rf"]


def test_runtime_only_targets_and_errors():
    df = synthetic_gpu(power=False)
    assert models.available_targets(df) == ["runtime_ms", "gflops"]
    ev = models.evaluate(df, "shape", "analytical-gbm", folds=0, n_estimators=20)  # leave-one-shape-out
    assert ev.metrics["n_shapes"].iloc[0] == schema.shape_key(df).nunique()
    with pytest.raises(ValueError, match="unknown split"):
        models.evaluate(df, "diagonal")
    with pytest.raises(ValueError, match="unknown model"):
        models.evaluate(df, "random", "oracle")
    assert models.scores([1.0, 2.0], [1.0, 3.0])["median_ape"] == pytest.approx(25.0)
