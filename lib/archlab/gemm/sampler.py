"""Power sampling during a steady repeated-kernel loop.

NVML's ``power.draw`` is a ~1 s moving average and on some GPUs only part of the runtime
is sampled, so one GEMM launch cannot be measured by reading power once (GPPerf read it
after the kernel had finished: mostly idle power). Instead :func:`steady_loop` records the
idle floor, then repeats the kernel for several seconds while :class:`PowerSampler` polls the
sensor in a background thread, discards the first ``settle_s`` (the moving average catching
up) and averages the rest; where the sensor has an energy counter the energy per call is the
counter delta over the loop. Nothing here needs a GPU: tests drive it with a fake sensor.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from archlab.gemm.sensors import PowerSensor


class PowerSampler:
    """Poll ``sensor.power_w()`` every ``interval_s`` in a background thread."""

    def __init__(self, sensor: PowerSensor, interval_s: float = 0.05,
                 clock: Callable[[], float] = time.perf_counter):
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.sensor, self.interval_s, self.clock = sensor, interval_s, clock
        self.samples: list[tuple[float, float]] = []  # (time, watts)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                p = self.sensor.power_w()
                if p is not None:
                    self.samples.append((self.clock(), float(p)))
                self._stop.wait(self.interval_s)
        except BaseException as e:  # surfaced by stop()
            self.error = e

    def start(self) -> PowerSampler:
        if self._thread is not None:
            raise RuntimeError("sampler already started")
        self._thread = threading.Thread(target=self._run, name="power-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, float]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.error is not None:
            raise RuntimeError(f"power sensor {self.sensor.name!r} failed: {self.error}") from self.error
        return self.samples

    def __enter__(self) -> PowerSampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def mean_power(samples: list[tuple[float, float]], t_from: float, t_to: float) -> tuple[float | None, int]:
    """Mean of the samples taken in ``[t_from, t_to]`` and their count (None if none)."""
    w = [p for t, p in samples if t_from <= t <= t_to]
    return (float(np.mean(w)) if w else None), len(w)


@dataclass(frozen=True)
class LoopResult:
    """What a steady loop measured. Power fields are None when the sensor cannot give them."""

    runtime_ms: float  # wall time per call inside the loop
    calls: int
    loop_s: float
    power_w: float | None
    idle_power_w: float | None
    energy_j: float | None  # per call
    n_samples: int
    sensor: str
    method: str


def steady_loop(launch: Callable[[], object], sync: Callable[[], object], sensor: PowerSensor,
                duration_s: float = 5.0, idle_s: float = 1.0, settle_s: float = 1.0,
                interval_s: float = 0.05, clock: Callable[[], float] = time.perf_counter,
                sleep: Callable[[float], object] = time.sleep) -> LoopResult:
    """Measure idle power, then repeat ``launch`` for about ``duration_s`` seconds while sampling.

    ``launch`` enqueues one kernel, ``sync`` waits for completion (``torch.cuda.synchronize``).
    """
    if duration_s <= settle_s:
        raise ValueError(f"duration_s ({duration_s}) must exceed settle_s ({settle_s})")
    idle = None
    if sensor.name != "none" and idle_s > 0:
        sync()
        with PowerSampler(sensor, interval_s, clock) as s_idle:
            sleep(idle_s)
        idle, _ = mean_power(s_idle.samples, -math.inf, math.inf)
    launch()
    sync()  # warm-up
    t0 = clock()
    launch()
    sync()
    one = max(clock() - t0, 1e-7)
    calls = max(2, int(math.ceil(duration_s / one)))
    sampler = PowerSampler(sensor, interval_s, clock)
    e0 = sensor.energy_j()
    sampler.start()
    t_start = clock()
    for _ in range(calls):
        launch()
    sync()
    t_end = clock()
    e1 = sensor.energy_j()
    samples = sampler.stop()
    loop_s = t_end - t_start
    power, n = mean_power(samples, t_start + settle_s, t_end)
    runtime_ms = loop_s * 1e3 / calls
    energy = None
    if e0 is not None and e1 is not None and e1 > e0:
        energy = (e1 - e0) / calls
        method = "energy-counter-steady-loop"
        if power is None:
            power = (e1 - e0) / loop_s
    elif power is not None:
        energy = power * runtime_ms / 1e3
        method = "sampled-steady-loop"
    else:
        method = "none"
    return LoopResult(runtime_ms, calls, loop_s, power, idle, energy, n,
                      sensor.name if method != "none" else "none", method)
