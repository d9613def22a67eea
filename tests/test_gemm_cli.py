"""`archlab gemm measure` and `archlab gemm evaluate`."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from archlab.cli import gemm as cli
from archlab.gemm import schema
from test_gemm_importers import record, results_text, write_tiled
from test_gemm_models import synthetic_gpu
from typer.testing import CliRunner

runner = CliRunner()


def test_evaluate_own_format_json(tmp_path):
    path = tmp_path / "d.csv"
    schema.save(synthetic_gpu(power=False), path)
    res = runner.invoke(cli.app, ["evaluate", "--dataset", f"archlab:{path}", "--split", "shape",
                                  "--model", "analytical-gbm", "--folds", "3", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert {(r["model"], r["target"]) for r in rows} == {("analytical-gbm", "runtime_ms"),
                                                         ("analytical-gbm", "gflops")}
    assert all({"r2", "mean_ape", "median_ape"} <= set(r) for r in rows)


def test_evaluate_gpperf_formats(tmp_path):
    recs = [record(ts=1731372844 + i, M=m, N=n, K=k, runtime=str(1e-9 * m * n * k), power=str(30 + i % 7))
            for i, (m, n, k) in enumerate((m, n, k) for m in (512, 1024, 2048) for n in (512, 1024)
                                          for k in (512, 1024, 2048) for _ in range(2))]
    res_csv = tmp_path / "results.csv"
    res_csv.write_text(results_text(recs))
    res = runner.invoke(cli.app, ["evaluate", "--dataset", f"gpperf-cutlass:{res_csv}", "--split", "random",
                                  "--model", "gpperf-rf", "--json"])
    assert res.exit_code == 0, res.output
    assert {r["target"] for r in json.loads(res.stdout)} == set(schema.TARGETS)
    t, p = write_tiled(tmp_path, [f"{m},{m},{m},{tt},{m * 1e-3 / tt}" for m in (512, 1024, 2048, 4096)
                                  for tt in (8, 16, 32)],
                       [f"{m},{m},{m},{tt},{30 + tt}" for m in (512, 1024, 2048, 4096) for tt in (8, 16, 32)])
    res = runner.invoke(cli.app, ["evaluate", "--dataset", f"gpperf-tiled:{p},{t}", "--split", "shape",
                                  "--folds", "2"])
    assert res.exit_code == 0, res.output
    assert "gpperf-rf" in res.stdout and "analytical-gbm" in res.stdout


@pytest.mark.parametrize("args, match", [
    (["--dataset", "csv:/x"], "unknown format 'csv'"),
    (["--dataset", "archlab:/no/such.csv"], "no such file /no/such.csv"),
    (["--dataset", "archlab"], "expected FORMAT:PATH"),
    (["--dataset", "archlab:/x", "--split", "diagonal"], "--split 'diagonal': allowed: random, shape"),
])
def test_evaluate_errors(args, match):
    res = runner.invoke(cli.app, ["evaluate", *args])
    assert res.exit_code != 0
    assert match in res.output


def test_evaluate_malformed_file_names_line(tmp_path):
    bad = tmp_path / "execution_times.csv"
    bad.write_text("M,N,K,Tile Size,Execution Time\n512,512,512,8,oops\n")
    res = runner.invoke(cli.app, ["evaluate", "--dataset", f"gpperf-tiled:{bad}"])
    assert res.exit_code != 0 and "line 2" in res.output and "execution_times.csv" in res.output


def test_measure_cpu_smoke(tmp_path):
    out = tmp_path / "cpu.csv"
    res = runner.invoke(cli.app, ["measure", "--backend", "cpu", "--smoke", "--out", str(out), "--sensor", "none"])
    assert res.exit_code == 0, res.output
    df = schema.load(out)
    assert len(df) > 0 and df["power_w"].isna().all() and (df["sensor"] == "none").all()
    prov = json.loads((tmp_path / "cpu.provenance.json").read_text())
    assert prov["sensor"] == "none" and prov["configurations"] == len(df) and prov["pinned_core"] is not None
    assert prov["command"].startswith("archlab gemm measure --backend cpu") and "dirty" in prov
    visits = pd.read_csv(tmp_path / "cpu.visits.csv")
    assert {"load_avg_1m", "steal_pct", "loaded", "pass"} <= set(visits.columns)


def test_measure_run_name_is_checked():
    res = runner.invoke(cli.app, ["measure", "--backend", "cuda", "--run", "x"])
    assert res.exit_code != 0 and "cpu backend only" in res.output
    res = runner.invoke(cli.app, ["measure", "--backend", "cpu", "--run", "../x"])
    assert res.exit_code != 0 and "letters, digits" in res.output


def test_measure_run_never_overwrites(tmp_path):
    out = tmp_path / "run-x.csv"
    out.write_text("kept\n")
    res = runner.invoke(cli.app, ["measure", "--backend", "cpu", "--run", "run-x", "--smoke", "--out", str(out)])
    assert res.exit_code != 0 and "run-x.csv exists" in res.output and "--force" in res.output
    assert out.read_text() == "kept\n"


def test_heldout_baselines_json(tmp_path):
    path = tmp_path / "d.csv"
    schema.save(synthetic_gpu(power=False), path)
    res = runner.invoke(cli.app, ["heldout", "--dataset", f"archlab:{path}", "--folds", "3", "--shuffles", "2",
                                  "--bootstrap", "100", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    models = {r["model"] for r in rows}
    assert {"analytical", "wave-loglinear", "gpperf-rf", "analytical-gbm"} <= models
    assert any(m.startswith("margin over") for m in models)
    res = runner.invoke(cli.app, ["heldout", "--dataset", f"archlab:{path}", "--contaminated", "maybe"])
    assert res.exit_code != 0 and "allowed: drop, keep" in res.output


def test_measure_bad_backend():
    res = runner.invoke(cli.app, ["measure", "--backend", "tpu"])
    assert res.exit_code != 0 and "allowed: cpu, cuda" in res.output
