"""Analytical and ML models, evaluation protocols."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from archlab.gemm import analytical, contamination, evaluation, models, schema, specs


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


# ----------------------------------------------------------------------------- evaluation protocol
def cutlass_like(n_m=(512, 1024, 2048, 8192), seed=0) -> pd.DataFrame:
    """Rows shaped like GPPerf's sweep: one 128x128 SIMT kernel, runtime = wave-quantised work
    at a fixed rate x noise, several label rows per shape, utilisation and timestamps."""
    rng = np.random.default_rng(seed)
    rows, t = [], 1731372844
    for M in n_m:
        for N in (512, 1024, 2048):
            for K in (512, 1024, 2048):
                for lay in ("nn", "tn"):
                    t += 60
                    rows.append({"source": "t", "device": "NVIDIA GeForce RTX 4070", "backend": "cuda",
                                 "kernel": f"cutlass_simt_sgemm_128x128_8x2_{lay}_align1", "dtype": "float32",
                                 "layout": lay, "M": M, "N": N, "K": K, "tile_m": 128, "tile_n": 128, "tile_k": 8,
                                 "warps": 8, "stages": 2, "smem_bytes": 16384, "runtime_ms": 1.0,
                                 "util_at_sample_pct": 0.0, "sensor": "none",
                                 "timestamp": pd.Timestamp(t, unit="s", tz="UTC").isoformat()})
    df = schema.from_records(rows)
    work = analytical.wave_work(df)
    df["runtime_ms"] = work / 15e9 * rng.lognormal(0, 0.02, len(df))
    return df


def test_wave_work_matches_the_formula():
    df = cutlass_like()
    M, N, K = (df[c].to_numpy(float) for c in ("M", "N", "K"))
    waves = np.ceil(np.ceil(M / 128) * np.ceil(N / 128) / 46)
    np.testing.assert_allclose(analytical.wave_work(df), waves * 128 * 128 * 2 * K)
    cpu_rows = schema.from_records([{"backend": "cpu", "device": "AMD EPYC", "M": 2, "N": 3, "K": 4}])
    assert analytical.wave_work(cpu_rows)[0] == 2 * 2 * 3 * 4


def test_tensor_core_peaks():
    s = specs.get("NVIDIA GeForce RTX 4070")
    assert s.peak_gflops("float32") == 29100 and s.peak_gflops("float16") == 58300
    assert s.peak_gflops("bfloat16") == 58300 and s.peak_gflops("float32", "tf32") == 29100
    a = specs.get("A100")
    assert a.peak_gflops("float32", "tf32") == 156000 and a.peak_gflops("float32") == 19500
    cpu_spec = specs.get("AMD EPYC")
    assert cpu_spec.peak_gflops("float16") == cpu_spec.fp32_peak_gflops  # no tensor cores: SIMT rate
    df = synthetic_gpu(n_shapes=2)
    half = df.assign(dtype="bfloat16")
    assert (analytical.predict(half)["compute_ms"] < analytical.predict(df)["compute_ms"]).all()


def test_scores_weighted_and_log_r2():
    y = np.array([1.0, 2.0, 4.0, 8.0])
    s = evaluation.scores(y, y * 1.1)
    assert s["median_ape"] == pytest.approx(10.0) and s["p90_ape"] == pytest.approx(10.0)
    assert s["r2_log"] == pytest.approx(1 - 4 * np.log(1.1) ** 2 / np.sum((np.log(y) - np.log(y).mean()) ** 2))
    w = evaluation.scores(y, np.array([1.0, 2.0, 4.0, 16.0]), w=np.array([1, 1, 1, 0]))
    assert w["median_ape"] == 0.0 and w["r2"] == pytest.approx(1.0)


def test_baselines_and_model_under_repeated_grouped_cv():
    df = cutlass_like()
    F = evaluation.features(df)
    facs = evaluation.factories(seed=0, rf_trees=20,
                                gbm_grid=evaluation.gbm_grid([2, 3], [60], 0.1), inner_folds=2)
    cv = evaluation.repeated_grouped_cv(df, F, facs, folds=4, shuffles=2, seed=0)
    assert set(cv.pred) == set(evaluation.MODELS)
    for P_ in cv.pred.values():  # every row predicted once per shuffle
        assert P_.shape == (2, len(df)) and np.isfinite(P_).all()
    assert {c["max_depth"] for c in cv.chosen} <= {2, 3} and len(cv.chosen) == 8  # tuned per outer fold
    per = cv.per_shuffle().groupby("model")["median_ape"].mean()
    assert per["wave-loglinear"] < 5  # the data are wave-quantised work: the 2-parameter line fits
    summ = evaluation.bootstrap_summary(cv, n_resamples=200, seed=0)
    r = summ.set_index(["model", "metric"])
    for m in evaluation.MODELS:
        lo, v, hi = r.loc[(m, "median_ape"), ["ci_low", "value", "ci_high"]]
        assert lo <= v <= hi and r.loc[(m, "median_ape"), "n_shapes"] == 36
    margins = summ[summ["model"].str.startswith("margin over")]
    assert set(margins["metric"]) == set(evaluation.METRICS)
    # the best baseline by median error is the wave model, and the margin is model vs it
    assert margins.set_index("metric").loc["median_ape", "model"] == "margin over wave-loglinear"


def test_folds_never_share_a_shape():
    df = cutlass_like()
    for tr, te in evaluation.grouped_folds(df, 5, seed=3):
        assert not set(schema.shape_key(df.iloc[tr])) & set(schema.shape_key(df.iloc[te]))
    with pytest.raises(ValueError, match=">= 2 distinct shapes"):
        evaluation.grouped_folds(df[(df["M"] == 512) & (df["N"] == 512) & (df["K"] == 512)], 5, 0)


def test_leave_one_value_out_extrapolates():
    df = cutlass_like()
    splits = evaluation.leave_one_value_out(df, "M")
    assert [v for v, _, _ in splits] == [512, 1024, 2048, 8192]
    for v, tr, te in splits:
        assert (df["M"].iloc[te] == v).all() and (df["M"].iloc[tr] != v).all()
    F = evaluation.features(df)
    facs = evaluation.factories(models=["analytical", "wave-loglinear"])
    tab, pooled = evaluation.extrapolation(df, F, facs, axes=("M",))
    kinds = dict(zip(tab["held_out"], tab["kind"], strict=False))
    assert kinds[8192] == "extrapolate (largest)" and kinds[512] == "extrapolate (smallest)"
    assert np.isfinite(pooled["M"].pred["wave-loglinear"]).all()
    with pytest.raises(ValueError, match="allowed: M, N, K"):
        evaluation.leave_one_value_out(df, "Q")


def test_final_test_is_sealed_and_read_once():
    df = cutlass_like()
    dev, sealed = evaluation.split_final(df, [(512, 512, 512), (8192, 2048, 1024)])
    assert not schema.shape_key(dev).isin(["512x512x512", "8192x2048x1024"]).any()
    assert sealed.n_rows == 4
    with pytest.raises(RuntimeError, match="before opening"):
        sealed.open({})
    facs = evaluation.factories(models=["analytical", "wave-loglinear"])
    summ, rows = evaluation.final_test(dev, sealed, facs, n_resamples=100, interval_q=0.1)
    assert len(rows) == 4 and set(rows["shape"]) == {"512x512x512", "8192x2048x1024"}
    with pytest.raises(evaluation.FinalTestReadTwice):
        sealed.open({"m": 1})
    with pytest.raises(ValueError, match="not in the data"):
        evaluation.split_final(df, [(3, 3, 3)])


def test_contamination_rule_is_symmetric():
    df = cutlass_like()
    util = np.zeros(len(df))
    util[:10] = 100  # busy head
    util[-12:] = 100  # busy tail
    util[40] = 100  # one isolated busy reading: not a busy window
    df["util_at_sample_pct"] = util
    mask = contamination.busy_window(df, busy_pct=50, frac=0.5, window_min=10)
    assert mask[:8].all() and mask[-10:].all() and not mask[40] and not mask[20:35].any()
    d = contamination.describe(df, mask)
    assert len(d["spans"]) == 2 and d["rows"] == mask.sum()
    grid = contamination.sensitivity(df, [50], [0.25, 0.9], [10])
    assert len(grid) == 2 and grid[0][1].sum() >= grid[1][1].sum()
    assert not contamination.busy_window(df.assign(util_at_sample_pct=np.nan)).any()
    with pytest.raises(ValueError, match="frac"):
        contamination.busy_window(df, frac=0)
