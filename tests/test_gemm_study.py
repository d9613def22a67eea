"""The GEMM study: tile analysis helpers, skip logic and a smoke run of ``run(P, C)``."""

from __future__ import annotations

import pandas as pd
import pytest
from archlab.analysis.claims import VERDICTS, verdict_within
from archlab.core import params
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


def test_cpu_time_view():
    df = schema.from_records([{"M": 8, "N": 8, "K": 8, "runtime_ms": 4.0, "cpu_time_ms": 2.0, "threads": 1,
                               "sensor": "none"}])
    v = study.cpu_time_view(df)
    assert v["runtime_ms"].iloc[0] == 2.0 and v["gflops"].iloc[0] == pytest.approx(2 * 512 / 2e6)


def test_cpu_run_pairs_must_differ():
    with pytest.raises(ValueError, match="two different runs"):
        GemmParams(cpu_runs=[("run-a", "run-a")])


def test_pair_agreement_verdicts():
    def summ(v, lo, hi):
        return pd.DataFrame([{"model": "analytical-gbm", "metric": "median_ape", "value": v, "ci_low": lo,
                              "ci_high": hi}])
    s = {"a": summ(1.0, 0.9, 1.1), "b": summ(1.1, 1.0, 1.2), "c": summ(9.0, 8.0, 10.0)}
    diff, ci = study._pair_diff(s, "a", "b")
    assert diff == pytest.approx(0.1) and ci[0] < 0.1 < ci[1]
    assert verdict_within(ci, 2.0) == "supported"
    assert verdict_within(study._pair_diff(s, "a", "c")[1], 2.0) == "not supported"
    assert verdict_within((1.5, 2.5), 2.0) == "inconclusive"
    assert verdict_within(None, 2.0) == "inconclusive"


def test_smoke_run_claims_tables_figures():
    P = params.load_section("gemm", smoke=True)
    C = params.load_section("common")
    R = study.run(P, C)
    ids = {c.id for c in R.claims}
    if R.metrics.get("gpperf_skipped") is None:
        assert {"gpperf_rf_random_split", "gpperf_rf_heldout_shapes", "ml_beats_best_baseline",
                "ml_beats_best_baseline_final_test", "ml_beats_best_baseline_leave_one_M_out"} <= ids
        for name in ("contamination", "per_shape_error", "extrapolation", "pred_vs_measured", "roofline"):
            assert R.figures[name].is_file()
        h = R.tables["gpperf_heldout"]
        assert {"analytical", "wave-loglinear", "gpperf-rf", "analytical-gbm"} <= set(h["model"])
        assert (h["n_rows"] == R.metrics["gpperf_dev_rows"]).all()  # every development row is scored
        s = R.tables["gpperf_sensitivity"]
        assert s["stated rule"].sum() == 1 and s["busy_pct"].isna().sum() == 1  # the rule and 'no rule'
    if ids:
        assert R.claims[0].id == study.HEADLINE or study.HEADLINE not in ids
    for c in R.claims:
        assert c.verdict in VERDICTS and c.command and c.rule
        if c.ci is not None:
            assert c.ci[0] <= c.ci[1]
    found = set(R.metrics["cpu_runs_found"])
    for a, b in P.cpu_runs:
        if {a, b} <= found:
            assert f"cpu_runs_agree_{a}_{b}" in ids
    for name in found:
        assert {f"cpu_heldout_error_{name}", f"cpu_ml_beats_best_baseline_{name}"} <= ids
    if found:
        assert set(R.tables["cpu_runs"]["run"]) == found and set(R.tables["cpu_heldout"]["run"]) == found
    assert "cpu_now_rows" in R.metrics  # the in-stage measurement ran
    doc = R.metrics_document()
    assert len(doc["claims"]) == len(R.claims)


def test_missing_inputs_give_placeholders(tmp_path):
    P = params.load_section("gemm", smoke=True).model_copy(
        update={"gpperf_archive": str(tmp_path / "none.tar.gz"), "cpu_runs": [], "measure_cpu": False})
    R = study.run(P, params.load_section("common"))
    assert "not found" in R.metrics["gpperf_skipped"] and not R.claims
    for name in study.FIGURES:
        assert R.figures[name].is_file()
    for name in study.TABLES:
        assert "not computed" in R.tables[name].columns
