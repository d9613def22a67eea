"""Timing helper: warm-up, repeats, median and spread."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimingStats:
    """Summary of repeated timings (milliseconds)."""

    median_ms: float
    min_ms: float
    spread: float  # (q75 - q25) / median
    repeats: int
    cpu_ms: float | None = None  # median process CPU time per call (all threads)


def summarize(samples_ms: np.ndarray | list[float], cpu_ms: list[float] | None = None) -> TimingStats:
    """Median, min and relative inter-quartile spread of ``samples_ms`` (+ median CPU time)."""
    x = np.asarray(samples_ms, float)
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(x <= 0):
        raise ValueError(f"timings must be positive and finite, got {x.tolist()[:5]}")
    q25, med, q75 = np.percentile(x, [25, 50, 75])
    cpu = float(np.median(cpu_ms)) if cpu_ms else None
    return TimingStats(float(med), float(x.min()), float((q75 - q25) / med), int(x.size), cpu)


def time_repeats(fn: Callable[[], object], warmup: int = 1, repeats: int = 5,
                 min_time_s: float = 0.0, clock: Callable[[], float] = time.perf_counter,
                 cpu_clock: Callable[[], float] | None = time.process_time) -> TimingStats:
    """Run ``fn`` ``warmup`` times, then time ``repeats`` runs (each batch repeated until
    it lasts ``min_time_s``, to beat timer resolution) and summarize per-call times.

    Besides wall time the process CPU time per call is kept: on a time-shared host it
    excludes the time the process waited for a core (but counts every thread's work)."""
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got {repeats}, {warmup}")
    for _ in range(warmup):
        fn()
    inner = 1
    if min_time_s > 0:  # calibrate calls per sample
        t0 = clock()
        fn()
        one = max(clock() - t0, 1e-9)
        inner = max(1, int(np.ceil(min_time_s / one)))
    samples, cpu = [], []
    for _ in range(repeats):
        c0 = cpu_clock() if cpu_clock else 0.0
        t0 = clock()
        for _ in range(inner):
            fn()
        samples.append((clock() - t0) * 1e3 / inner)
        if cpu_clock:
            cpu.append((cpu_clock() - c0) * 1e3 / inner)
    return summarize(samples, cpu or None)
