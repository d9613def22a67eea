"""GPPerf importers: synthetic files with the archive's quirks, malformed input, the real archive."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from archlab.core import paths
from archlab.gemm import importers, schema

HEADER = "Energy_Joules,GFLOPS_per_Watt,TFLOPS"


def record(ts=1731372844, M=512, N=512, K=512, lay="nn", runtime="0.04352", power="70.17", util="100",
           kernel=None) -> str:
    kernel = kernel or f"cutlass_simt_sgemm_128x128_8x2_{lay}_align1"
    first = (f"{ts},{M},{N},{K},{kernel},nn,64,64,32,2,linear_combination,1,0,{runtime},,{power}, 2760, 10251,"
             f" 47, {util}, 0,NVIDIA GeForce RTX 4070, 8.9, 10501 MHz, 3105 MHz, 200.00 W, 47, Default,"
             f" 12282 MiB, 11827 MiB, 176 MiB, 100 %, 0 %,kernel_name,{kernel}")
    mid = ["arithmetic_intensity,85.33", "uses_shared_memory,0", "computation_pattern,GEMM",
           f"problem_size_m,{M}", f"problem_size_n,{N}"]
    return "\n".join([first, *mid, f"problem_size_k,{K},.003,87902.151,6168.094"])


def results_text(records: list[str]) -> str:
    return HEADER + "\n".join(records) + "\n"  # header glued to the first record


def write_archive(path, text: str) -> None:
    data = text.encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("cutlass_profiling_x/results.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_cutlass_quirks(tmp_path):
    recs = [record(), record(ts=1731372849, M=128256, N=1024, K=2048, lay="tn", runtime="26.8", power="[N/A]",
                            util="0")]
    arc = tmp_path / "a.tar.gz"
    write_archive(arc, results_text(recs))
    df = importers.read_gpperf_cutlass(arc, expected_sha256=None)
    schema.validate(df)
    assert list(df.columns) == schema.NAMES and len(df) == 2
    r0, r1 = df.iloc[0], df.iloc[1]
    assert (r0.M, r0.N, r0.K, r0.tile_m, r0.tile_k, r0.stages, r0.layout) == (512, 512, 512, 128, 8, 2, "nn")
    assert r0.label_block_m == 64 and r0.label_layout == "nn"
    assert r0.gflops == pytest.approx(2 * 512**3 / 0.04352e-3 / 1e9)
    assert r0.energy_j == pytest.approx(70.17 * 0.04352 / 1000) and r0.sensor == "nvidia-smi"
    assert r1.layout == "tn" and r1.M == 128256
    assert r1.power_w is pd_na() and r1.sensor == "none" and r1.power_method == "none"


def pd_na():
    import pandas as pd

    return pd.NA


def test_cutlass_sha_mismatch(tmp_path):
    arc = tmp_path / "a.tar.gz"
    write_archive(arc, results_text([record()]))
    with pytest.raises(importers.ImportError_, match="sha256"):
        importers.read_gpperf_cutlass(arc)


@pytest.mark.parametrize("mutate, match", [
    (lambda recs: [recs[0], "\n".join(recs[1].splitlines()[:-1])], "line 13: record does not end"),
    (lambda recs: [recs[0], recs[1].replace(",0.05,", ",fast,", 1)], "line 8: field 'runtime': not a number"),
    (lambda recs: [recs[0], recs[1].replace("cutlass_simt_sgemm_128x128_8x2_nn_align1", "mykernel")],
     "line 8: unrecognised CUTLASS kernel"),
    (lambda recs: [recs[0], recs[1].replace(",linear_combination,", ",")], "line 8: expected 35 fields"),
])
def test_cutlass_malformed_names_line(tmp_path, mutate, match):
    recs = mutate([record(), record(ts=1731372850, runtime="0.05")])
    path = tmp_path / "results.csv"
    path.write_text(results_text(recs))
    with pytest.raises(importers.ImportError_, match=match) as e:
        importers.read_gpperf_cutlass(path)
    assert str(path) in str(e.value)


def test_cutlass_not_an_archive(tmp_path):
    bad = tmp_path / "x.tar.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(importers.ImportError_, match="not a readable tar.gz"):
        importers.read_gpperf_cutlass(bad, expected_sha256=None)
    with pytest.raises(FileNotFoundError, match="GPPerf"):
        importers.read_gpperf_cutlass(tmp_path / "missing.tar.gz")


def test_busy_tail():
    recs = [record(ts=1000000000 + i, util="0") for i in range(8)]
    recs += [record(ts=1000000100 + i, util="100", runtime="0.09") for i in range(4)]
    df = importers.parse_cutlass_results(results_text(recs))
    mask = importers.gpperf_busy_tail(df)
    assert mask.tolist() == [False] * 8 + [True] * 4


def write_tiled(tmp_path, time_rows, power_rows):
    t = tmp_path / "execution_times.csv"
    p = tmp_path / "power_usage.csv"
    t.write_text("M,N,K,Tile Size,Execution Time\n" + "\n".join(time_rows) + "\n")
    p.write_text("M,N,K,Tile Size,Average Power Usage (W)\n" + "\n".join(power_rows) + "\n")
    return t, p


def test_tiled_join(tmp_path):
    t, p = write_tiled(tmp_path, ["512,512,512,8,6.56141", "512,512,512,16,5.58422 "],
                       ["512,512,512,1,32.038", "512,512,512,8,32.157", "512,512,512,16,33.268"])
    df = importers.read_gpperf_tiled(t, p)
    schema.validate(df)
    assert df["tile_m"].tolist() == [1, 8, 16]
    assert np.isnan(df["runtime_ms"].astype(float).iloc[0])  # tile 1 has power only
    assert df["runtime_ms"].iloc[2] == pytest.approx(5.58422)
    assert df["power_w"].iloc[2] == pytest.approx(33.268)
    assert df["energy_j"].iloc[2] == pytest.approx(33.268 * 5.58422 / 1000)
    assert df["warps"].iloc[2] == 8 and df["smem_bytes"].iloc[2] == 2 * 16 * 16 * 4


@pytest.mark.parametrize("rows, match", [
    (["512,512,512,8,abc"], "line 2: field 'Execution Time': not a number"),
    (["512,512,512,8,6.5", "512,512,8,6.5"], "line 3: expected 5 fields"),
    (["512,512,512,8,-1"], "line 2: all fields must be positive"),
    (["512,512,512,8,1", "512,512,512,8,2"], "duplicate configuration"),
])
def test_tiled_malformed(tmp_path, rows, match):
    t, _ = write_tiled(tmp_path, rows, [])
    with pytest.raises(importers.ImportError_, match=match) as e:
        importers.read_gpperf_tiled(t)
    assert "execution_times.csv" in str(e.value)


def test_tiled_bad_header(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("M,N,K,Tile,Time\n1,1,1,1,1\n")
    with pytest.raises(importers.ImportError_, match="line 1: expected header"):
        importers.read_gpperf_tiled(f)


ARCHIVE = paths.shared() / "datasets/gpperf-rtx4070/cutlass_profiling_20241111_195357.tar.gz"


@pytest.mark.skipif(not ARCHIVE.is_file(), reason="GPPerf archive not present")
def test_real_archive():
    df = importers.read_gpperf_cutlass(ARCHIVE)  # verifies the sha256
    assert len(df) == 16128
    assert int(df["power_w"].notna().sum()) == 2595
    assert df.groupby(["M", "N", "K", "layout", "alpha", "beta"]).ngroups == 576
    assert set(df["M"].unique()) == {512, 1024, 2048, 128256}
