"""The tidy GEMM dataset: one row per measured configuration.

Every backend and importer produces a :class:`pandas.DataFrame` with exactly
:data:`COLUMNS` (in that order, with those dtypes). Missing values are NA, never
invented: a row measured without a power sensor has ``power_w`` NA and ``sensor`` equal
to ``"none"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

# name -> (pandas dtype, meaning)
COLUMNS: dict[str, tuple[str, str]] = {
    "source": ("string", "who produced the row: cpu-measure, cuda-measure, gpperf-cutlass, gpperf-tiled"),
    "host": ("string", "host name (or the source's machine label)"),
    "device": ("string", "CPU model or GPU name"),
    "backend": ("string", "cpu or cuda"),
    "kernel": ("string", "kernel identifier (numba-tiled, numpy-blas, torch-blas, triton-tiled, cublas, ...)"),
    "dtype": ("string", "float32 / float64 / float16 / bfloat16"),
    "layout": ("string", "operand layouts: nn, nt, tn, tt (n = row-major as stored)"),
    "M": ("Int64", "rows of A and C"),
    "N": ("Int64", "columns of B and C"),
    "K": ("Int64", "reduction length"),
    "tile_m": ("Int64", "tile / thread-block rows (NA for BLAS)"),
    "tile_n": ("Int64", "tile / thread-block columns"),
    "tile_k": ("Int64", "tile depth along K"),
    "stages": ("Int64", "software-pipeline stages (GPU)"),
    "warps": ("Int64", "warps per thread block (GPU)"),
    "smem_bytes": ("Int64", "shared memory per thread block (GPU)"),
    "threads": ("Int64", "CPU threads used"),
    "alpha": ("Float64", "GEMM alpha"),
    "beta": ("Float64", "GEMM beta"),
    "label_block_m": ("Int64", "block-size label recorded by the source (GPPerf: ignored by the kernel)"),
    "label_block_n": ("Int64", "block-size label recorded by the source"),
    "label_block_k": ("Int64", "block-size label recorded by the source"),
    "label_layout": ("string", "layout label recorded by the source (GPPerf: ignored by the kernel)"),
    "repeats": ("Int64", "timed repetitions behind the median"),
    "runtime_ms": ("Float64", "median runtime of one GEMM, ms"),
    "runtime_spread": ("Float64", "(q75 - q25) / median of the repetitions"),
    "cpu_time_ms": ("Float64", "median process CPU time per call, all threads (CPU backend), ms"),
    "gflops": ("Float64", "2*M*N*K / runtime, GFLOP/s"),
    "power_w": ("Float64", "average power while the kernel ran, W (NA without a sensor)"),
    "idle_power_w": ("Float64", "idle power of the device before the loop, W"),
    "energy_j": ("Float64", "energy of one GEMM, J"),
    "sm_clock_mhz": ("Float64", "SM / core clock when sampled"),
    "util_at_sample_pct": ("Float64", "GPU utilisation reported when power was sampled"),
    "sensor": ("string", "nvml, rapl, nvidia-smi, or none"),
    "power_method": ("string", "how power/energy was obtained (none when not measured)"),
    "timestamp": ("string", "ISO-8601 UTC time of the measurement"),
    "precision": ("string", "fp32 matmul precision on GPUs: ieee (true fp32) or tf32 (tensor cores)"),
    "runtime_stat": ("string", "statistic behind runtime_ms: min, p25 or median of the samples"),
    "runtime_median_ms": ("Float64", "median of the samples, ms (beside a min/p25 runtime_ms)"),
    "samples": ("Int64", "timed samples behind runtime_ms (all passes)"),
    "passes": ("Int64", "interleaved passes over the configurations the samples came from"),
    "noise_pct": ("Float64", "|pass 1 - pass 2| / mean of the two passes' statistics, %"),
    "preempted_samples": ("Int64", "samples during which the thread was involuntarily switched out"),
    "remeasured": ("Int64", "times the row was measured again because it was taken under load"),
    "load_avg_1m": ("Float64", "1-minute load average (/proc/loadavg) when the row was measured"),
    "host_busy_pct": ("Float64", "non-idle share of all host CPU time while the row was measured, %"),
    "steal_pct": ("Float64", "steal share of all host CPU time while the row was measured, %"),
    "power_sampled_w": ("Float64", "mean of polled power samples over the loop (cross-check of power_w), W"),
    "temp_c": ("Float64", "max device temperature during the loop, C"),
    "throttle_reasons": ("string", "union of clock-throttle reasons seen during the loop (NVML names)"),
}
NAMES: list[str] = list(COLUMNS)
TARGETS: tuple[str, ...] = ("runtime_ms", "power_w", "energy_j", "gflops")
SHAPE: list[str] = ["M", "N", "K"]


class SchemaError(ValueError):
    """A table does not follow the GEMM schema (the message names the column)."""


def empty() -> pd.DataFrame:
    """A zero-row table with the schema's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=d) for c, (d, _) in COLUMNS.items()})


def from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Build a schema table from dicts; keys not in the schema are an error, missing ones are NA."""
    records = list(records)
    for i, r in enumerate(records):
        extra = sorted(set(r) - set(COLUMNS))
        if extra:
            raise SchemaError(f"record {i}: unknown column(s) {extra}; allowed: {', '.join(NAMES)}")
    df = pd.DataFrame.from_records(records, columns=NAMES) if records else empty()
    return conform(df)


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Add missing columns as NA, order them, cast dtypes (raises on unknown columns)."""
    extra = sorted(set(df.columns) - set(COLUMNS))
    if extra:
        raise SchemaError(f"unknown column(s) {extra}; allowed: {', '.join(NAMES)}")
    out = pd.DataFrame(index=df.index)
    for c, (dtype, _) in COLUMNS.items():
        col = df[c] if c in df.columns else pd.Series(pd.NA, index=df.index)
        try:
            if dtype in ("Int64", "Float64"):
                col = pd.to_numeric(col.astype("object").where(col.notna(), np.nan), errors="raise")
            out[c] = col.astype(dtype)
        except (TypeError, ValueError) as e:
            raise SchemaError(f"column {c!r}: cannot convert to {dtype}: {e}") from None
    return out.reset_index(drop=True)


def validate(df: pd.DataFrame) -> pd.DataFrame:
    """Check columns, dtypes and value ranges; returns ``df`` unchanged when valid."""
    missing = [c for c in NAMES if c not in df.columns]
    if missing:
        raise SchemaError(f"missing column(s) {missing}")
    for c in SHAPE:
        bad = df[c].isna() | (df[c] <= 0)
        if bad.any():
            raise SchemaError(f"column {c!r}: must be a positive integer (row {int(np.flatnonzero(bad)[0])})")
    for c in ("runtime_ms", "power_w", "energy_j", "gflops", "idle_power_w"):
        bad = df[c].notna() & (df[c] <= 0)
        if bad.any():
            raise SchemaError(f"column {c!r}: must be positive or NA (row {int(np.flatnonzero(bad)[0])})")
    nosensor = (df["sensor"] == "none") & df["power_w"].notna()
    if nosensor.any():
        raise SchemaError(f"row {int(np.flatnonzero(nosensor)[0])}: power_w given but sensor is 'none'")
    return df


def flops(df: pd.DataFrame) -> np.ndarray:
    """2*M*N*K per row (float)."""
    return 2.0 * df["M"].to_numpy(float) * df["N"].to_numpy(float) * df["K"].to_numpy(float)


def shape_key(df: pd.DataFrame) -> pd.Series:
    """``"MxNxK"`` per row: the group label for held-out-shape evaluation."""
    return df["M"].astype(str) + "x" + df["N"].astype(str) + "x" + df["K"].astype(str)


def save(df: pd.DataFrame, path) -> None:
    """Write a schema table (parquet if the suffix is .parquet, else CSV)."""
    df = validate(conform(df))
    path = str(path)
    if path.endswith(".parquet"):
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


def load(path) -> pd.DataFrame:
    """Read a table written by :func:`save` and validate it."""
    path = str(path)
    try:
        df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    except FileNotFoundError:
        raise SchemaError(f"{path}: no such file") from None
    try:
        return validate(conform(df))
    except SchemaError as e:
        raise SchemaError(f"{path}: {e}") from None
