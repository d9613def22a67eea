"""CPU measurement backend: a numba-compiled tiled GEMM over tile sizes, and BLAS GEMM
(numpy or torch) over threads, dtypes and layouts."""

from __future__ import annotations

import platform
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import numpy as np
import pandas as pd

from archlab.gemm import schema, sensors
from archlab.gemm.timing import TimingStats, time_repeats

LAYOUTS = ("nn", "nt", "tn", "tt")


@cache
def _tiled_kernel() -> Callable:
    """Compile (once) the tiled GEMM: C = A @ B in T x T x T blocks, i-k-j inner order."""
    from numba import njit

    @njit(cache=False, fastmath=True, nogil=True)
    def tiled_gemm(a, b, c, t):  # pragma: no cover - compiled
        m, k = a.shape
        n = b.shape[1]
        c[:, :] = 0
        for i0 in range(0, m, t):
            for k0 in range(0, k, t):
                for j0 in range(0, n, t):
                    for i in range(i0, min(i0 + t, m)):
                        for kk in range(k0, min(k0 + t, k)):
                            aik = a[i, kk]
                            for j in range(j0, min(j0 + t, n)):
                                c[i, j] += aik * b[kk, j]
        return c

    return tiled_gemm


def tiled_gemm(a: np.ndarray, b: np.ndarray, tile: int, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` by the compiled tiled kernel with tile size ``tile`` (1..64 or more)."""
    if tile < 1:
        raise ValueError(f"tile must be >= 1, got {tile}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes do not multiply: {a.shape} @ {b.shape}")
    out = np.empty((a.shape[0], b.shape[1]), dtype=a.dtype) if out is None else out
    return _tiled_kernel()(a, b, out, int(tile))


def operands(M: int, N: int, K: int, dtype: str, layout: str, rng: np.random.Generator):
    """A (M x K) and B (K x N) with the given storage layout (``t`` = stored transposed)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; allowed: {', '.join(LAYOUTS)}")
    a = rng.standard_normal((K, M) if layout[0] == "t" else (M, K)).astype(dtype)
    b = rng.standard_normal((N, K) if layout[1] == "t" else (K, N)).astype(dtype)
    return (a.T if layout[0] == "t" else a), (b.T if layout[1] == "t" else b)


def cpu_name() -> str:
    """CPU model name (``/proc/cpuinfo``), or the platform's processor string."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or "unknown-cpu"


@dataclass(frozen=True)
class CpuConfig:
    """One CPU measurement: kernel (numba-tiled / numpy / torch), shape, dtype, layout, tile, threads."""

    kernel: str
    M: int
    N: int
    K: int
    dtype: str
    layout: str = "nn"
    tile: int | None = None
    threads: int = 1


def grid(shapes: Iterable[Sequence[int]], tiles: Sequence[int], tiled_dtype: str,
         blas: Sequence[str], threads: Sequence[int], dtypes: Sequence[str],
         layouts: Sequence[str]) -> list[CpuConfig]:
    """All configurations of the CPU sweep."""
    out = []
    for M, N, K in shapes:
        out += [CpuConfig("numba-tiled", M, N, K, tiled_dtype, "nn", t, 1) for t in tiles]
        out += [CpuConfig(f"{lib}-blas", M, N, K, d, lay, None, th)
                for lib in blas for th in threads for d in dtypes for lay in layouts]
    return out


def _blas_call(cfg: CpuConfig, a: np.ndarray, b: np.ndarray) -> tuple[Callable[[], object], Callable]:
    """(call, context factory) for a BLAS configuration."""
    from archlab.core.runtime import limit_threads

    if cfg.kernel == "numpy-blas":
        return (lambda: np.matmul(a, b)), (lambda: limit_threads(cfg.threads, user_api="blas"))
    if cfg.kernel == "torch-blas":
        import torch

        ta, tb = torch.from_numpy(a.T.copy()).T if cfg.layout[0] == "t" else torch.from_numpy(a), None
        tb = torch.from_numpy(b.T.copy()).T if cfg.layout[1] == "t" else torch.from_numpy(b)
        return (lambda: torch.matmul(ta, tb)), (lambda: limit_threads(cfg.threads))
    raise ValueError(f"unknown CPU kernel {cfg.kernel!r}; allowed: numba-tiled, numpy-blas, torch-blas")


def measure_one(cfg: CpuConfig, warmup: int = 1, repeats: int = 5, min_time_s: float = 0.0,
                seed: int = 0, check: bool = True) -> TimingStats:
    """Time one configuration (verifies the tiled kernel against numpy when ``check``)."""
    rng = np.random.default_rng(seed)
    a, b = operands(cfg.M, cfg.N, cfg.K, cfg.dtype, cfg.layout, rng)
    if cfg.kernel == "numba-tiled":
        a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
        out = np.empty((cfg.M, cfg.N), dtype=cfg.dtype)
        if check:
            tol = 1e-3 if cfg.dtype == "float32" else 1e-9
            ref = a.astype(np.float64) @ b.astype(np.float64)
            got = tiled_gemm(a, b, cfg.tile, out)
            if not np.allclose(got, ref, rtol=tol, atol=tol * np.sqrt(cfg.K)):
                raise AssertionError(f"tiled kernel wrong for {cfg}")
        return time_repeats(lambda: tiled_gemm(a, b, cfg.tile, out), warmup, repeats, min_time_s)
    call, ctx = _blas_call(cfg, a, b)
    with ctx():
        return time_repeats(call, warmup, repeats, min_time_s)


def measure(configs: Sequence[CpuConfig], warmup: int = 1, repeats: int = 5, min_time_s: float = 0.0,
            seed: int = 0, sensor: sensors.PowerSensor | None = None,
            progress: Callable[[int, int], object] | None = None) -> pd.DataFrame:
    """Measure ``configs`` in a seeded random order (so load drift does not align with the
    grid) and return schema rows. With an energy-counter sensor (RAPL) each row also gets
    package power over its timed repetitions; otherwise ``sensor="none"`` and power stays NA."""
    sensor = sensor or sensors.NoSensor()
    order = np.random.default_rng(seed).permutation(len(configs))
    host, device = socket.gethostname(), cpu_name()
    rows: list[dict] = [{}] * len(configs)
    for n, i in enumerate(order):
        cfg = configs[i]
        e0 = sensor.energy_j()
        t0 = datetime.now(UTC)
        st = measure_one(cfg, warmup, repeats, min_time_s, seed + int(i))
        e1 = sensor.energy_j()
        wall = (datetime.now(UTC) - t0).total_seconds()
        power = (e1 - e0) / wall if e0 is not None and e1 is not None and e1 > e0 and wall > 0 else None
        fl = 2.0 * cfg.M * cfg.N * cfg.K
        rows[i] = {
            "source": "cpu-measure", "host": host, "device": device, "backend": "cpu",
            "kernel": cfg.kernel, "dtype": cfg.dtype, "layout": cfg.layout,
            "M": cfg.M, "N": cfg.N, "K": cfg.K,
            "tile_m": cfg.tile, "tile_n": cfg.tile, "tile_k": cfg.tile, "threads": cfg.threads,
            "alpha": 1.0, "beta": 0.0, "repeats": st.repeats, "runtime_ms": st.median_ms,
            "runtime_spread": st.spread, "cpu_time_ms": st.cpu_ms, "gflops": fl / (st.median_ms * 1e6),
            "power_w": power, "energy_j": None if power is None else power * st.median_ms / 1e3,
            "sensor": sensor.name if power is not None else "none",
            "power_method": "rapl-package-energy-over-repeats" if power is not None else "none",
            "timestamp": t0.isoformat(timespec="seconds"),
        }
        if progress:
            progress(n + 1, len(configs))
    return schema.from_records(rows)


def shape_grid(ms: Sequence[int], ns: Sequence[int], ks: Sequence[int], max_shapes: int | None,
               seed: int) -> list[tuple[int, int, int]]:
    """The product of ``ms x ns x ks``; a seeded random subset of ``max_shapes`` when given."""
    shapes = [(m, n, k) for m in ms for n in ns for k in ks]
    if max_shapes is not None and max_shapes < len(shapes):
        idx = np.sort(np.random.default_rng(seed).choice(len(shapes), max_shapes, replace=False))
        shapes = [shapes[i] for i in idx]
    return shapes
