"""CPU measurement backend: a numba-compiled tiled GEMM over tile sizes, and BLAS GEMM
(numpy or torch) over threads, dtypes and layouts.

The harness (:func:`measure`) is built for a shared host: the thread is pinned to one core;
every configuration is visited in several interleaved passes spread in time; each visit
logs the load average, the host's busy and steal shares (``/proc/stat``) and, per sample,
whether the thread was preempted; visits taken under load are measured again; a row keeps
the minimum (or 25th percentile) of all its samples and the pass-1 vs pass-2 difference as
its noise floor. RAPL energy, where readable, covers the timed samples only."""

from __future__ import annotations

import platform
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import numpy as np
import pandas as pd

from archlab.gemm import schema, sensors

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
         layouts: Sequence[str], tiled_max_flops: float | None = None) -> list[CpuConfig]:
    """All configurations of the CPU sweep (the tiled kernel only on shapes of at most
    ``tiled_max_flops`` FLOPs, when given: it runs at a few GFLOP/s)."""
    out = []
    for M, N, K in shapes:
        if tiled_max_flops is None or 2.0 * M * N * K <= tiled_max_flops:
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


# ----------------------------------------------------------------------------- host load
def proc_stat(path: str = "/proc/stat") -> np.ndarray | None:
    """The aggregate ``cpu`` line of ``/proc/stat`` (user, nice, system, idle, iowait, irq,
    softirq, steal, ...) in clock ticks; None where unreadable."""
    try:
        with open(path) as f:
            parts = f.readline().split()
    except OSError:
        return None
    if not parts or parts[0] != "cpu":
        return None
    return np.array([int(x) for x in parts[1:9]] + [0] * max(0, 9 - len(parts)), dtype=np.int64)


def host_load(s0: np.ndarray | None, s1: np.ndarray | None) -> tuple[float | None, float | None]:
    """(non-idle %, steal %) of all host CPU time between two :func:`proc_stat` readings."""
    if s0 is None or s1 is None:
        return None, None
    d = (s1 - s0).astype(float)
    total = d.sum()
    if total <= 0:
        return None, None
    idle = d[3] + d[4]
    return float((total - idle) / total * 100), float(d[7] / total * 100)


def loadavg(path: str = "/proc/loadavg") -> float | None:
    """The 1-minute load average; None where unreadable."""
    try:
        with open(path) as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def involuntary_switches() -> int:
    """Involuntary context switches of the calling thread so far (0 where unsupported)."""
    import resource

    try:
        return int(resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw)
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return 0


class pinned:  # noqa: N801 - a context manager used like a function
    """Pin the calling thread to one core (``os.sched_setaffinity``) and restore afterwards.
    ``core=-1`` takes the last core this process may use; no-op where unsupported."""

    def __init__(self, core: int = -1):
        self.core, self.old, self.cpu = core, None, None

    def __enter__(self) -> pinned:
        import os

        if not hasattr(os, "sched_setaffinity"):  # pragma: no cover - non-Linux
            return self
        self.old = os.sched_getaffinity(0)
        allowed = sorted(self.old)
        cpu = allowed[self.core] if self.core < 0 else self.core
        if cpu not in self.old:
            raise ValueError(f"core {self.core}: not one of this process's CPUs {allowed}")
        os.sched_setaffinity(0, {cpu})
        self.cpu = cpu
        return self

    def __exit__(self, *exc) -> None:
        import os

        if self.old is not None:
            os.sched_setaffinity(0, self.old)


# ----------------------------------------------------------------------------- one visit
def prepare(cfg: CpuConfig, seed: int = 0, check: bool = True) -> tuple[Callable[[], object], Callable]:
    """(call, context factory) for ``cfg``: operands generated and (tiled kernel) the result
    checked against numpy here, outside any timed or energy window."""
    import contextlib

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
        return (lambda: tiled_gemm(a, b, cfg.tile, out)), contextlib.nullcontext
    return _blas_call(cfg, a, b)


@dataclass(frozen=True)
class Visit:
    """One timed visit of a configuration: its samples and the host's state meanwhile."""

    config: int
    pass_: int
    wall_ms: tuple[float, ...]
    cpu_ms: tuple[float, ...]
    preempted: tuple[bool, ...]
    inner: int
    load_avg_1m: float | None
    host_busy_pct: float | None
    steal_pct: float | None
    energy_j: float | None  # over the timed samples only
    timed_s: float
    timestamp: str


class StatWindow:
    """``/proc/stat`` readings over time: the busy and steal shares of the last
    ``window_s`` seconds (the counters tick every 10 ms, too coarse for one short visit)."""

    def __init__(self, window_s: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.window_s, self.clock = window_s, clock
        self.readings: list[tuple[float, np.ndarray]] = []

    def now(self) -> tuple[float | None, float | None]:
        t, s = self.clock(), proc_stat()
        if s is None:
            return None, None
        self.readings.append((t, s))
        old = [r for r in self.readings if t - r[0] >= self.window_s]
        if old:
            self.readings = [old[-1]] + [r for r in self.readings if t - r[0] < self.window_s]
        return host_load(self.readings[0][1], s)


def visit(call: Callable[[], object], ctx: Callable, warmup: int, samples: int, min_time_s: float,
          sensor: sensors.PowerSensor, config: int = 0, pass_: int = 0,
          clock: Callable[[], float] = time.perf_counter,
          cpu_clock: Callable[[], float] = time.thread_time, window: StatWindow | None = None) -> Visit:
    """Warm up, then take ``samples`` timed samples (each ``inner`` calls lasting at least
    ``min_time_s``). The energy counter is read immediately around the timed samples only.
    Host busy / steal shares cover the visit and the seconds before it (``window``)."""
    if samples < 1 or warmup < 0:
        raise ValueError(f"need samples >= 1 and warmup >= 0, got {samples}, {warmup}")
    with ctx():
        t0 = clock()
        for _ in range(max(warmup, 1)):
            call()
        one = max((clock() - t0) / max(warmup, 1), 1e-9)
        inner = max(1, int(np.ceil(min_time_s / one))) if min_time_s > 0 else 1
        window = window or StatWindow()
        la = loadavg()
        window.now()
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        wall, cpu_, pre = [], [], []
        e0 = sensor.energy_j()
        t_first = clock()
        for _ in range(samples):
            n0, c0, t0 = involuntary_switches(), cpu_clock(), clock()
            for _ in range(inner):
                call()
            t1, c1, n1 = clock(), cpu_clock(), involuntary_switches()
            wall.append((t1 - t0) * 1e3 / inner)
            cpu_.append((c1 - c0) * 1e3 / inner)
            pre.append(n1 > n0)
        timed = clock() - t_first
        e1 = sensor.energy_j()
        busy, steal = window.now()
    energy = (e1 - e0) if e0 is not None and e1 is not None and e1 > e0 else None
    return Visit(config, pass_, tuple(wall), tuple(cpu_), tuple(pre), inner, la, busy, steal, energy, timed, stamp)


def loaded(v: Visit, load_max: float, steal_max: float, preempt_max: float) -> bool:
    """Whether a visit was taken under load: load average per allowed core above
    ``load_max``, steal above ``steal_max`` %, or more than ``preempt_max`` of its samples
    preempted (involuntary context switch inside the sample)."""
    import os

    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    ncpu = max(ncpu, os.cpu_count() or 1)
    return bool((v.load_avg_1m is not None and v.load_avg_1m / ncpu > load_max)
                or (v.steal_pct is not None and v.steal_pct > steal_max)
                or (np.mean(v.preempted) > preempt_max))


STATS = ("min", "p25", "median")


def statistic(x: Sequence[float], stat: str) -> float:
    """min, p25 or median of ``x``."""
    if stat not in STATS:
        raise ValueError(f"unknown statistic {stat!r}; allowed: {', '.join(STATS)}")
    x = np.asarray(x, float)
    return float(x.min() if stat == "min" else np.percentile(x, 25 if stat == "p25" else 50))


# ----------------------------------------------------------------------------- the sweep
@dataclass
class Measurement:
    """Rows (one per configuration, schema columns) and the visit log behind them."""

    rows: pd.DataFrame
    visits: pd.DataFrame
    core: int | None


def measure(configs: Sequence[CpuConfig], passes: int = 3, samples: int = 3, warmup: int = 1,
            min_time_s: float = 0.005, stat: str = "min", core: int = -1, seed: int = 0,
            sensor: sensors.PowerSensor | None = None, load_max: float = 1.0, steal_max: float = 5.0,
            preempt_max: float = 0.5, remeasure_rounds: int = 1, pass_gap_s: float = 0.0,
            check: bool = True, progress: Callable[[int, int], object] | None = None,
            clock: Callable[[], float] = time.perf_counter, cpu_clock: Callable[[], float] = time.thread_time,
            sleep: Callable[[float], object] = time.sleep) -> Measurement:
    """The CPU harness. Pinned to one core; ``passes`` interleaved passes over all
    configurations, each in its own seeded random order, ``pass_gap_s`` apart; in each visit
    a warm-up then ``samples`` timed samples. Visits taken under load (:func:`loaded`) are
    repeated in up to ``remeasure_rounds`` extra rounds at the end. A row's runtime is
    ``stat`` (min or p25) of all its samples; ``noise_pct`` compares pass 1 with pass 2 (the
    noise floor); load average, host busy and steal shares are logged per visit and per row.
    With an energy counter (RAPL) power is energy over the timed samples only."""
    if passes < 1:
        raise ValueError(f"passes must be >= 1, got {passes}")
    statistic([1.0], stat)
    sensor = sensor or sensors.NoSensor()
    rng = np.random.default_rng(seed)
    visits: list[Visit] = []
    total = len(configs) * passes
    done = 0
    window = StatWindow()
    with pinned(core) as pin:

        def one(i: int, p: int) -> Visit:
            call, ctx = prepare(configs[i], seed + i, check=check and p == 0)
            return visit(call, ctx, warmup, samples, min_time_s, sensor, i, p, clock, cpu_clock, window)

        for p in range(passes):
            if p and pass_gap_s > 0:
                sleep(pass_gap_s)
            for i in rng.permutation(len(configs)):
                visits.append(one(int(i), p))
                done += 1
                if progress:
                    progress(done, total)
        remeasured = np.zeros(len(configs), int)
        for r in range(remeasure_rounds):
            by = {}
            for v in visits:
                by.setdefault(v.config, []).append(loaded(v, load_max, steal_max, preempt_max))
            again = [i for i, flags in sorted(by.items()) if np.mean(flags) > 0.5]
            if not again:
                break
            for i in rng.permutation(again):
                visits.append(one(int(i), passes + r))
                remeasured[int(i)] += 1
    rows = _rows(configs, visits, stat, sensor, remeasured, passes)
    log = pd.DataFrame([{"config": v.config, "pass": v.pass_, "timestamp": v.timestamp, "inner": v.inner,
                         "min_ms": min(v.wall_ms), "median_ms": float(np.median(v.wall_ms)),
                         "cpu_min_ms": min(v.cpu_ms), "preempted": int(sum(v.preempted)),
                         "samples": len(v.wall_ms), "load_avg_1m": v.load_avg_1m,
                         "host_busy_pct": v.host_busy_pct, "steal_pct": v.steal_pct,
                         "loaded": loaded(v, load_max, steal_max, preempt_max)} for v in visits])
    return Measurement(rows, log, pin.cpu)


def _mean(x):
    x = [v for v in x if v is not None]
    return float(np.mean(x)) if x else None


def _rows(configs, visits, stat, sensor, remeasured, passes) -> pd.DataFrame:
    host, device = socket.gethostname(), cpu_name()
    out = []
    for i, cfg in enumerate(configs):
        vs = [v for v in visits if v.config == i]
        wall = [x for v in vs for x in v.wall_ms]
        cpu_ = [x for v in vs for x in v.cpu_ms]
        by_pass = {p: [x for v in vs if v.pass_ == p for x in v.wall_ms] for p in (0, 1)}
        noise = None
        if by_pass[0] and by_pass[1]:
            a, b = statistic(by_pass[0], stat), statistic(by_pass[1], stat)
            noise = abs(a - b) / ((a + b) / 2) * 100
        rt = statistic(wall, stat)
        energy = [v.energy_j for v in vs]
        power = None
        if all(e is not None for e in energy) and energy:
            power = sum(energy) / sum(v.timed_s for v in vs)
        q25, med, q75 = np.percentile(wall, [25, 50, 75])
        fl = 2.0 * cfg.M * cfg.N * cfg.K
        out.append({
            "source": "cpu-measure", "host": host, "device": device, "backend": "cpu",
            "kernel": cfg.kernel, "dtype": cfg.dtype, "layout": cfg.layout, "M": cfg.M, "N": cfg.N, "K": cfg.K,
            "tile_m": cfg.tile, "tile_n": cfg.tile, "tile_k": cfg.tile, "threads": cfg.threads,
            "alpha": 1.0, "beta": 0.0, "repeats": len(wall), "samples": len(wall), "passes": passes,
            "runtime_ms": rt, "runtime_stat": stat, "runtime_median_ms": float(med),
            "runtime_spread": float((q75 - q25) / med), "cpu_time_ms": statistic(cpu_, stat),
            "gflops": fl / (rt * 1e6), "noise_pct": noise,
            "preempted_samples": int(sum(sum(v.preempted) for v in vs)), "remeasured": int(remeasured[i]),
            "load_avg_1m": _mean(v.load_avg_1m for v in vs), "host_busy_pct": _mean(v.host_busy_pct for v in vs),
            "steal_pct": _mean(v.steal_pct for v in vs),
            "power_w": power, "energy_j": None if power is None else power * rt / 1e3,
            "sensor": sensor.name if power is not None else "none",
            "power_method": "rapl-package-energy-over-timed-samples" if power is not None else "none",
            "timestamp": min(v.timestamp for v in vs),
        })
    return schema.from_records(out)


def shape_grid(ms: Sequence[int], ns: Sequence[int], ks: Sequence[int], max_shapes: int | None,
               seed: int, include: Sequence[Sequence[int]] = ()) -> list[tuple[int, int, int]]:
    """``include`` plus the product ``ms x ns x ks`` (a seeded random subset of it, so that
    ``max_shapes`` shapes result, when given)."""
    inc = [tuple(int(x) for x in s) for s in include]
    rest = [(m, n, k) for m in ms for n in ns for k in ks if (m, n, k) not in inc]
    if max_shapes is not None and max_shapes - len(inc) < len(rest):
        take = max(0, max_shapes - len(inc))
        idx = np.sort(np.random.default_rng(seed).choice(len(rest), take, replace=False))
        rest = [rest[i] for i in idx]
    return inc + rest
