"""Analytical GEMM models: GPU roofline with tile-level DRAM traffic, occupancy and wave
quantization; CPU cache-tiling model; fitted idle + dynamic power model.

:func:`predict` gives the analytical runtime (``model_ms``) per row of a schema table and
the intermediate quantities, which :func:`features` turns into ML features.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from archlab.gemm import schema, specs

ELEM_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2}
LAUNCH_MS = 0.005  # kernel-launch floor on a GPU
SAT_WARPS = 16  # resident warps an SM needs to reach its peak (latency hiding), rough
# CPU: bandwidth per core (GB/s) of the level a tile's working set lives in (Zen 3, rough)
CPU_LEVEL_BW = {"l1": 150.0, "l2": 75.0, "l3": 35.0, "dram": 12.0}
CPU_VECTOR_BYTES = 32  # AVX2
DEFAULT_GPU_TILE = (128, 128, 8, 8)  # (tile_m, tile_n, tile_k, warps) assumed for cuBLAS rows
LAYOUT_CODE = {"nn": 0, "nt": 1, "tn": 2, "tt": 3}


def _col(df: pd.DataFrame, name: str, default: float) -> np.ndarray:
    return df[name].astype("Float64").fillna(default).to_numpy(float)


def gpu_model(df: pd.DataFrame, spec: specs.DeviceSpec) -> pd.DataFrame:
    """Roofline + occupancy + wave quantization for GPU rows of a schema table."""
    M, N, K = (df[c].to_numpy(float) for c in schema.SHAPE)
    elem = df["dtype"].map(ELEM_BYTES).fillna(4).to_numpy(float)
    tm = _col(df, "tile_m", DEFAULT_GPU_TILE[0])
    tn = _col(df, "tile_n", DEFAULT_GPU_TILE[1])
    warps = _col(df, "warps", DEFAULT_GPU_TILE[3])
    smem = _col(df, "smem_bytes", 0.0)
    threads_req = np.where(df["kernel"].eq("gpperf-tiled-smem").to_numpy(bool), tm * tn, warps * 32)
    lane_util = np.clip(threads_req / (warps * 32), 1e-3, 1.0)
    n_blocks = np.ceil(M / tm) * np.ceil(N / tn)
    by_threads = np.floor(spec.max_threads_per_sm / (warps * 32))
    by_smem = np.where(smem > 0, np.floor(spec.smem_per_sm_kib * 1024 / np.maximum(smem, 1)), np.inf)
    blocks_per_sm = np.maximum(1, np.minimum.reduce([np.full_like(M, spec.max_blocks_per_sm), by_threads, by_smem]))
    occupancy = blocks_per_sm * warps * 32 / spec.max_threads_per_sm
    concurrent = spec.units * blocks_per_sm
    waves = np.ceil(n_blocks / concurrent)
    fl = schema.flops(df)
    # wave quantization: full waves run bps blocks per SM; the last wave ceil(r / SMs);
    # an SM reaches its peak only with SAT_WARPS resident warps
    last = n_blocks - (waves - 1) * concurrent
    last_per_sm = np.ceil(last / spec.units)
    prec = df["precision"].fillna("ieee") if "precision" in df else pd.Series("ieee", index=df.index)
    peak = np.array([spec.peak_gflops(d, p) for d, p in zip(df["dtype"].fillna("float32"), prec,
                                                              strict=True)]) * 1e9
    peak_sm = peak / spec.units * lane_util
    block_flops = fl / n_blocks

    def wave_s(b):
        return b * block_flops / (peak_sm * np.minimum(1.0, b * warps / SAT_WARPS))

    compute_s = (waves - 1) * wave_s(blocks_per_sm) + wave_s(last_per_sm)
    wave_eff = fl / (peak * lane_util) / compute_s
    compulsory = elem * (M * K + K * N + M * N)
    # blocks are rasterized along M: a wave shares one column strip of B (kept in L2) and
    # A is streamed once per strip; when A fits in (half of) L2 it is read from DRAM once
    a_traffic = np.where(elem * M * K <= 0.5 * spec.l2_kib * 1024, M * K, M * K * np.ceil(N / tn))
    dram = elem * (a_traffic + K * N + M * N)
    tiled = elem * (M * N * K / tn + M * N * K / tm + M * N)
    mem_s = dram / (spec.mem_bw_gbs * 1e9)
    fits_l2 = a_traffic == M * K
    return pd.DataFrame({
        "model_ms": np.maximum(compute_s, mem_s) * 1e3 + LAUNCH_MS,
        "compute_ms": compute_s * 1e3, "mem_ms": mem_s * 1e3,
        "dram_bytes": dram, "tiled_bytes": tiled, "intensity": fl / dram,
        "occupancy": occupancy, "blocks_per_sm": blocks_per_sm, "waves": waves, "wave_eff": wave_eff,
        "lane_util": lane_util, "ws_level": np.where(fits_l2, 2.0, 4.0), "compulsory_bytes": compulsory,
    }, index=df.index)


def cpu_model(df: pd.DataFrame, spec: specs.DeviceSpec) -> pd.DataFrame:
    """Cache-tiling model for CPU rows: a T x T tiled kernel streams 2*M*N*K/T elements from
    the cache level holding its 3*T^2 working set; BLAS runs near peak with compulsory traffic."""
    M, N, K = (df[c].to_numpy(float) for c in schema.SHAPE)
    elem = df["dtype"].map(ELEM_BYTES).fillna(4).to_numpy(float)
    threads = _col(df, "threads", 1.0)
    tiled_kernel = df["tile_m"].notna().to_numpy(bool)
    T = _col(df, "tile_m", 0.0)
    fl = schema.flops(df)
    per_core = np.array([spec.peak_gflops(d) for d in df["dtype"].fillna("float32")]) / spec.units * 1e9
    lanes = CPU_VECTOR_BYTES / elem
    vec_eff = np.where(tiled_kernel, np.minimum(1.0, np.maximum(T, 1) / lanes), 1.0)
    ws = np.where(tiled_kernel, 3 * T**2 * elem, elem * (M * K + K * N + M * N))
    level = np.select([ws <= spec.l1_kib * 1024, ws <= spec.l2_kib * 1024, ws <= spec.l3_mib * 2**20],
                      [1.0, 2.0, 3.0], 4.0)
    bw = np.select([level == 1, level == 2, level == 3],
                   [CPU_LEVEL_BW["l2"], CPU_LEVEL_BW["l3"], CPU_LEVEL_BW["dram"]], CPU_LEVEL_BW["dram"])
    traffic = np.where(tiled_kernel, elem * (2 * M * N * K / np.maximum(T, 1) + 2 * M * N),
                       elem * (M * K + K * N + M * N))
    compute_s = fl / (per_core * threads * vec_eff)
    mem_s = traffic / (bw * 1e9 * np.where(tiled_kernel, 1.0, threads))
    return pd.DataFrame({
        "model_ms": np.maximum(compute_s, mem_s) * 1e3,
        "compute_ms": compute_s * 1e3, "mem_ms": mem_s * 1e3,
        "dram_bytes": traffic, "tiled_bytes": traffic, "intensity": fl / traffic,
        "occupancy": np.ones_like(M), "blocks_per_sm": np.ones_like(M),
        "waves": np.ones_like(M), "wave_eff": np.ones_like(M),
        "lane_util": vec_eff, "ws_level": level, "compulsory_bytes": elem * (M * K + K * N + M * N),
    }, index=df.index)


def wave_work(df: pd.DataFrame) -> np.ndarray:
    """The wave-quantised work of each row: ``waves x tile_m x tile_n x 2K`` FLOPs, with
    ``waves = ceil(ceil(M/tile_m) ceil(N/tile_n) / units)`` (GPU rows; the tile defaults to
    128 x 128). On CPU rows (no waves) it is the row's FLOPs, 2MNK."""
    M, N, K = (df[c].to_numpy(float) for c in schema.SHAPE)
    out = schema.flops(df).copy()
    for (device, backend), g in df.groupby([df["device"].fillna(""), df["backend"].fillna("")], sort=False):
        if backend != "cuda":
            continue
        spec = specs.get(str(device), fallback="rtx4070")
        i = df.index.get_indexer(g.index)
        tm, tn = _col(g, "tile_m", DEFAULT_GPU_TILE[0]), _col(g, "tile_n", DEFAULT_GPU_TILE[1])
        waves = np.ceil(np.ceil(M[i] / tm) * np.ceil(N[i] / tn) / spec.units)
        out[i] = waves * tm * tn * 2 * K[i]
    return out


def predict(df: pd.DataFrame) -> pd.DataFrame:
    """Analytical quantities for every row (device specs looked up per row's ``device``)."""
    parts = []
    for (device, backend), g in df.groupby([df["device"].fillna(""), df["backend"].fillna("")], sort=False):
        spec = specs.get(str(device), fallback="generic-cpu" if backend == "cpu" else None)
        parts.append(gpu_model(g, spec) if spec.kind == "gpu" else cpu_model(g, spec))
    return pd.concat(parts).loc[df.index] if parts else pd.DataFrame(index=df.index)


def features(df: pd.DataFrame) -> pd.DataFrame:
    """Analytical + shape features for the ML models (all numeric, no targets)."""
    a = predict(df)
    M, N, K = (df[c].to_numpy(float) for c in schema.SHAPE)
    elem = df["dtype"].map(ELEM_BYTES).fillna(4).to_numpy(float)
    out = pd.DataFrame({
        "log_M": np.log2(M), "log_N": np.log2(N), "log_K": np.log2(K),
        "log_flops": np.log2(schema.flops(df)),
        "log_model_ms": np.log(a["model_ms"]), "log_compute_ms": np.log(a["compute_ms"]),
        "log_mem_ms": np.log(a["mem_ms"]), "log_intensity": np.log(a["intensity"]),
        "occupancy": a["occupancy"], "waves": a["waves"], "wave_eff": a["wave_eff"],
        "lane_util": a["lane_util"], "ws_level": a["ws_level"],
        "tile_m": _col(df, "tile_m", 0), "tile_n": _col(df, "tile_n", 0), "tile_k": _col(df, "tile_k", 0),
        "warps": _col(df, "warps", 0), "stages": _col(df, "stages", 0),
        "smem_bytes": _col(df, "smem_bytes", 0), "threads": _col(df, "threads", 0),
        "elem_bytes": elem, "layout": df["layout"].map(LAYOUT_CODE).fillna(-1).to_numpy(float),
        "beta_nonzero": (_col(df, "beta", 0) != 0).astype(float),
        # a stable code per kernel name (the same in every train/test subset)
        "kernel_code": df["kernel"].fillna("").map(lambda k: zlib.crc32(k.encode()) % 9973).to_numpy(float),
    }, index=df.index)
    return out


@dataclass
class PowerModel:
    """P = idle + a * compute_utilisation + b * dram_utilisation (non-negative a, b), fitted.

    Utilisations come from the measured runtime and the analytical model: achieved FLOP/s
    over peak, DRAM bytes/s over bandwidth. ``idle`` is the measured idle power when the
    rows carry it (``idle_power_w``), else a fitted non-negative intercept.
    """

    idle_w: float = 0.0
    a_w: float = 0.0
    b_w: float = 0.0

    @staticmethod
    def _util(df: pd.DataFrame) -> np.ndarray:
        a = predict(df)
        rt = df["runtime_ms"].to_numpy(float)
        return np.column_stack([np.clip(a["compute_ms"].to_numpy() / rt, 0, 1),
                                np.clip(a["mem_ms"].to_numpy() / rt, 0, 1)])

    def fit(self, df: pd.DataFrame) -> PowerModel:
        d = df[df["power_w"].notna() & df["runtime_ms"].notna()]
        if len(d) < 3:
            raise ValueError(f"power model needs at least 3 rows with power_w, got {len(d)}")
        U, p = self._util(d), d["power_w"].to_numpy(float)
        idle = d["idle_power_w"].dropna()
        if len(idle):
            self.idle_w = float(idle.median())
            (self.a_w, self.b_w), _ = nnls(U, p - self.idle_w)
        else:
            coef, _ = nnls(np.column_stack([np.ones(len(d)), U]), p)
            self.idle_w, self.a_w, self.b_w = (float(c) for c in coef)
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        U = self._util(df)
        return self.idle_w + U @ np.array([self.a_w, self.b_w])
