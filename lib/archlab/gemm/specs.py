"""Device specs table (``specs.csv``, data not code) used by the analytical models."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd


@dataclass(frozen=True)
class DeviceSpec:
    """One row of ``specs.csv`` (GPU: SM counts and limits; CPU: cores and caches)."""

    device: str
    kind: str
    units: int  # SMs (GPU) or cores (CPU)
    fp32_peak_gflops: float
    fp64_peak_gflops: float
    mem_bw_gbs: float
    l1_kib: float
    l2_kib: float
    l3_mib: float
    max_threads_per_sm: int
    max_blocks_per_sm: int
    smem_per_sm_kib: float
    max_threads_per_block: int
    tdp_w: float | None
    idle_w: float | None
    tf32_tensor_gflops: float | None = None  # dense tensor-core peaks (fp32 accumulate)
    fp16_tensor_gflops: float | None = None
    bf16_tensor_gflops: float | None = None

    def peak_gflops(self, dtype: str, precision: str = "ieee") -> float:
        """Peak throughput for ``dtype``: fp64 and fp32 (``precision="ieee"``) at the SIMT
        rate; fp32 with ``precision="tf32"`` and fp16/bf16 at the dense tensor-core rate where
        the device has one (else the fp32 SIMT rate)."""
        if dtype == "float64":
            return self.fp64_peak_gflops
        tensor = {"float16": self.fp16_tensor_gflops, "bfloat16": self.bf16_tensor_gflops}.get(dtype)
        if dtype == "float32" and precision == "tf32":
            tensor = self.tf32_tensor_gflops
        return tensor if tensor else self.fp32_peak_gflops


@cache
def table() -> pd.DataFrame:
    """The specs table."""
    with resources.files("archlab.gemm").joinpath("specs.csv").open() as f:
        return pd.read_csv(f)


def get(device: str, fallback: str | None = None) -> DeviceSpec:
    """Spec of ``device``: an exact table key, or a name containing one of its aliases;
    ``fallback`` (a table key) when nothing matches, else KeyError."""
    t = table()
    rows = t[t["device"] == device]
    if rows.empty:
        rows = t[[isinstance(a, str) and a.lower() in device.lower() for a in t["aliases"]]]
    if rows.empty and fallback is not None:
        return get(fallback)
    if rows.empty:
        raise KeyError(f"no specs for device {device!r}; known: {', '.join(t['device'])} "
                       f"(add a row to archlab/gemm/specs.csv)")
    r = rows.iloc[0]

    def opt(x):
        return None if pd.isna(x) else float(x)

    return DeviceSpec(
        device=r["device"], kind=r["kind"], units=int(r["sms_or_cores"]),
        fp32_peak_gflops=float(r["fp32_peak_gflops"]), fp64_peak_gflops=float(r["fp64_peak_gflops"]),
        mem_bw_gbs=float(r["mem_bw_gbs"]), l1_kib=float(r["l1_kib"]), l2_kib=float(r["l2_kib"]),
        l3_mib=float(r["l3_mib"]), max_threads_per_sm=int(r["max_threads_per_sm"]),
        max_blocks_per_sm=int(r["max_blocks_per_sm"]), smem_per_sm_kib=float(r["smem_per_sm_kib"]),
        max_threads_per_block=int(r["max_threads_per_block"]), tdp_w=opt(r["tdp_w"]), idle_w=opt(r["idle_w"]),
        tf32_tensor_gflops=opt(r["tf32_tensor_gflops"]), fp16_tensor_gflops=opt(r["fp16_tensor_gflops"]),
        bf16_tensor_gflops=opt(r["bf16_tensor_gflops"]),
    )
