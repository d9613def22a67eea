"""CUDA measurement backend: Triton tiled GEMM kernels over block sizes, warps and stages,
plus cuBLAS (``torch.matmul``). Runtime: median of CUDA-event times with the L2 flushed
before each timed launch. Power and energy: a >= 10 s steady repeated-kernel loop after a
cooldown to idle, from NVML's energy counter (samples as a cross-check), with clocks,
temperature and throttle reasons logged during the loop (:mod:`archlab.gemm.sampler`).
fp32 runs at one stated precision on both sides (default ``ieee``: Triton
``input_precision="ieee"`` and torch TF32 off).

torch and triton are imported inside functions only, so this module imports on machines
without a GPU (and without Triton); the loop and row-building logic is tested with fakes.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import pandas as pd

from archlab.gemm import schema, sensors
from archlab.gemm.sampler import LoopResult, idle_power, steady_loop

TORCH_DTYPES = ("float32", "float16", "bfloat16")
ELEM = {"float32": 4, "float16": 2, "bfloat16": 2}


@dataclass(frozen=True)
class CudaConfig:
    """One GPU measurement: ``cublas`` or ``triton-tiled`` with its block shape, warps, stages."""

    kernel: str
    M: int
    N: int
    K: int
    dtype: str = "float32"
    block_m: int | None = None
    block_n: int | None = None
    block_k: int | None = None
    warps: int | None = None
    stages: int | None = None

    def smem_bytes(self) -> int | None:
        """Shared memory of the Triton pipeline: stages x (A tile + B tile)."""
        if self.kernel != "triton-tiled":
            return None
        return self.stages * (self.block_m + self.block_n) * self.block_k * ELEM[self.dtype]


def grid(shapes: Sequence[Sequence[int]], blocks: Sequence[Sequence[int]], warps: Sequence[int],
         stages: Sequence[int], dtypes: Sequence[str], smem_limit: int = 99 * 1024) -> list[CudaConfig]:
    """cuBLAS plus every Triton (block, warps, stages) per shape and dtype, skipping
    configurations whose shared memory exceeds ``smem_limit`` bytes."""
    out = []
    for M, N, K in shapes:
        for d in dtypes:
            if d not in TORCH_DTYPES:
                raise ValueError(f"unknown CUDA dtype {d!r}; allowed: {', '.join(TORCH_DTYPES)}")
            out.append(CudaConfig("cublas", M, N, K, d))
            for bm, bn, bk in blocks:
                for w in warps:
                    for s in stages:
                        c = CudaConfig("triton-tiled", M, N, K, d, bm, bn, bk, w, s)
                        if c.smem_bytes() <= smem_limit:
                            out.append(c)
    return out


@cache
def _triton_kernel():  # pragma: no cover - needs triton and a GPU
    import triton
    import triton.language as tl

    @triton.jit
    def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, sam, sak, sbk, sbn, scm, scn,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
                      PRECISION: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rm = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
        rn = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
        rk = tl.arange(0, BLOCK_K)
        acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
        for k0 in range(0, K, BLOCK_K):
            a = tl.load(a_ptr + rm[:, None] * sam + (k0 + rk)[None, :] * sak,
                        mask=(rm[:, None] < M) & ((k0 + rk)[None, :] < K), other=0.0)
            b = tl.load(b_ptr + (k0 + rk)[:, None] * sbk + rn[None, :] * sbn,
                        mask=((k0 + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)
            acc += tl.dot(a, b, input_precision=PRECISION)
        tl.store(c_ptr + rm[:, None] * scm + rn[None, :] * scn, acc.to(c_ptr.dtype.element_ty),
                 mask=(rm[:, None] < M) & (rn[None, :] < N))

    return matmul_kernel


PRECISIONS = ("ieee", "tf32")


@dataclass(frozen=True)
class CudaSettings:
    """Measurement settings (the params' CudaSweep has the same fields)."""

    precision: str = "ieee"
    repeats: int = 20
    flush_l2: bool = True
    duration_s: float = 10.0
    settle_s: float = 1.0
    interval_s: float = 0.02
    cooldown_tol_w: float = 5.0
    cooldown_max_s: float = 60.0
    idle_s: float = 2.0


def tolerance(dtype: str, precision: str) -> float:
    """Max relative error (to the fp64 reference's max) accepted by the correctness check:
    true fp32 accumulation must agree to 1e-4; TF32 inputs (10-bit mantissa) to 1e-2;
    fp16/bf16 inputs with fp32 accumulation to 1e-2 / 3e-2."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISIONS)}")
    if dtype == "float32":
        return 1e-4 if precision == "ieee" else 1e-2
    return {"float16": 1e-2, "bfloat16": 3e-2}[dtype]


def set_torch_precision(torch, precision: str) -> None:
    """The same fp32 precision on the cuBLAS side as Triton's ``input_precision``."""
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.set_float32_matmul_precision("highest" if precision == "ieee" else "high")


def make_launch(cfg: CudaConfig, seed: int = 0, precision: str = "ieee"
                ) -> tuple[Callable[[], object], Callable[[], object]]:
    """(launch, check) closures on the GPU for ``cfg``; check compares with an fp64 product.
    fp32 runs at ``precision`` on both sides: Triton ``tl.dot(input_precision=...)`` and
    torch's TF32 switches."""
    import torch  # pragma: no cover - GPU only

    tol = tolerance(cfg.dtype, precision)
    set_torch_precision(torch, precision)
    g = torch.Generator(device="cuda").manual_seed(seed)
    dt = getattr(torch, cfg.dtype)
    a = torch.randn(cfg.M, cfg.K, device="cuda", generator=g).to(dt)
    b = torch.randn(cfg.K, cfg.N, device="cuda", generator=g).to(dt)
    c = torch.empty(cfg.M, cfg.N, device="cuda", dtype=dt)
    if cfg.kernel == "cublas":
        def launch():
            torch.matmul(a, b, out=c)
    elif cfg.kernel == "triton-tiled":
        kern = _triton_kernel()
        grid_ = ((cfg.M + cfg.block_m - 1) // cfg.block_m, (cfg.N + cfg.block_n - 1) // cfg.block_n)
        prec = precision if cfg.dtype == "float32" else "ieee"  # fp16/bf16 use tensor cores anyway

        def launch():
            kern[grid_](a, b, c, cfg.M, cfg.N, cfg.K, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                        c.stride(0), c.stride(1), BLOCK_M=cfg.block_m, BLOCK_N=cfg.block_n,
                        BLOCK_K=cfg.block_k, PRECISION=prec, num_warps=cfg.warps, num_stages=cfg.stages)
    else:
        raise ValueError(f"unknown CUDA kernel {cfg.kernel!r}; allowed: cublas, triton-tiled")

    def check():
        launch()
        torch.cuda.synchronize()
        ref = a.double() @ b.double()
        err = ((c.double() - ref).abs().max() / ref.abs().max()).item()
        if err > tol:
            raise AssertionError(f"{cfg} ({precision}): relative error {err:.3g} > {tol}")

    return launch, check


def l2_flusher(l2_bytes: int) -> Callable[[], object]:  # pragma: no cover - GPU only
    """A closure that overwrites a buffer twice the L2 size (evicting the operands)."""
    import torch

    buf = torch.empty(max(1, 2 * int(l2_bytes) // 4), dtype=torch.float32, device="cuda")

    def flush():
        buf.zero_()

    return flush


def event_times_ms(launch: Callable[[], object], repeats: int, flush: Callable[[], object] | None = None,
                   event: Callable[[], object] | None = None) -> list[float]:
    """Per-launch times from CUDA events; ``flush`` (the L2 flush) runs before each timed
    launch, outside the events. ``event`` makes an event (tests pass a fake)."""
    if event is None:  # pragma: no cover - GPU only
        import torch

        def event():
            return torch.cuda.Event(enable_timing=True)
    out = []
    for _ in range(repeats):
        if flush is not None:
            flush()
        s, e = event(), event()
        s.record()
        launch()
        e.record()
        e.synchronize()
        out.append(s.elapsed_time(e))
    return out


def row(cfg: CudaConfig, events_ms: Sequence[float], loop: LoopResult, device: str,
        sm_clock_mhz: float | None = None, host: str | None = None, precision: str = "ieee") -> dict:
    """Schema row of one CUDA measurement (runtime: median of the L2-flushed CUDA-event
    times; power and telemetry from the steady loop)."""
    from archlab.gemm.timing import summarize

    st = summarize(events_ms)
    fl = 2.0 * cfg.M * cfg.N * cfg.K
    has_p = loop.power_w is not None
    return {
        "source": "cuda-measure", "host": host or socket.gethostname(), "device": device,
        "backend": "cuda", "kernel": cfg.kernel, "dtype": cfg.dtype, "layout": "nn",
        "precision": precision if cfg.dtype == "float32" else None,
        "M": cfg.M, "N": cfg.N, "K": cfg.K, "tile_m": cfg.block_m, "tile_n": cfg.block_n,
        "tile_k": cfg.block_k, "stages": cfg.stages, "warps": cfg.warps, "smem_bytes": cfg.smem_bytes(),
        "alpha": 1.0, "beta": 0.0, "repeats": st.repeats, "samples": st.repeats, "runtime_ms": st.median_ms,
        "runtime_stat": "median", "runtime_median_ms": st.median_ms,
        "runtime_spread": st.spread, "gflops": fl / (st.median_ms * 1e6),
        "power_w": loop.power_w if has_p else None, "idle_power_w": loop.idle_power_w,
        "power_sampled_w": loop.power_sampled_w if has_p else None,
        # energy per GEMM: counter (or sampled power) over the loop, per call
        "energy_j": loop.energy_j if has_p else None,
        "sm_clock_mhz": loop.sm_clock_mhz if loop.sm_clock_mhz is not None else sm_clock_mhz,
        "temp_c": loop.temp_c, "throttle_reasons": loop.throttle_reasons or None,
        "sensor": loop.sensor, "power_method": loop.method,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def measure(configs: Sequence[CudaConfig], sensor_kind: str = "nvml", sweep=None, seed: int = 0,
            progress: Callable[[int, int], object] | None = None) -> pd.DataFrame:
    """Measure ``configs`` on GPU 0 (needs torch with CUDA; Triton for triton-tiled).

    ``sweep`` is the params' CudaSweep (precision, repeats, L2 flush, loop length, cooldown);
    idle power is measured once at the start and each loop first cools down to it."""
    import torch  # pragma: no cover - GPU only

    if not torch.cuda.is_available():
        raise RuntimeError("the cuda backend needs a CUDA GPU (torch.cuda.is_available() is False)")
    sweep = sweep or CudaSettings()
    sensor = sensors.make(sensor_kind)
    device = torch.cuda.get_device_name(0)
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    flush = l2_flusher(l2) if sweep.flush_l2 else None
    rows = []
    try:
        torch.cuda.synchronize()
        idle = idle_power(sensor, sweep.idle_s, sweep.interval_s)
        for n, cfg in enumerate(configs):
            launch, check = make_launch(cfg, seed + n, sweep.precision)
            check()
            ev = event_times_ms(launch, sweep.repeats, flush)
            loop = steady_loop(launch, torch.cuda.synchronize, sensor, sweep.duration_s, idle, sweep.settle_s,
                               sweep.interval_s, sweep.cooldown_tol_w, sweep.cooldown_max_s)
            rows.append(row(cfg, ev, loop, device, precision=sweep.precision))
            if progress:
                progress(n + 1, len(configs))
    finally:
        sensor.close()
    return schema.from_records(rows)


def provenance(sensor_kind: str = "nvml") -> dict:  # pragma: no cover - GPU only
    """Device, driver, clocks, torch/triton versions and date for the reference dataset."""
    import torch

    info: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "host": socket.gethostname(),
                  "torch": torch.__version__, "cuda": torch.version.cuda,
                  "device": torch.cuda.get_device_name(0)}
    try:
        import triton

        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    try:
        s = sensors.make(sensor_kind)
        if isinstance(s, sensors.NvmlSensor):
            info.update(s.info())
        s.close()
    except sensors.SensorUnavailable as e:
        info["sensor_error"] = str(e)
    return info
