"""Power sampling during a steady repeated-kernel loop.

NVML's ``power.draw`` is a ~1 s moving average and on some GPUs only part of the runtime
is sampled, so one GEMM launch cannot be measured by reading power once (GPPerf read it
after the kernel had finished: mostly idle power). :func:`steady_loop` first cools down
until power is back within a tolerance of the idle floor, then repeats the kernel for at
least 10 s. Power is the energy-counter delta over the loop where the sensor has a counter;
:class:`PowerSampler` polls power, clocks, temperature and throttle reasons in a background
thread meanwhile, and the mean of the samples after ``settle_s`` is kept as a cross-check.
Nothing here needs a GPU: tests drive it with a fake sensor.
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
    """Poll ``sensor.power_w()`` (and ``sensor.telemetry()`` where the sensor has it: clocks,
    temperature, throttle reasons) every ``interval_s`` in a background thread."""

    def __init__(self, sensor: PowerSensor, interval_s: float = 0.05,
                 clock: Callable[[], float] = time.perf_counter):
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self.sensor, self.interval_s, self.clock = sensor, interval_s, clock
        self.samples: list[tuple[float, float]] = []  # (time, watts)
        self.telemetry: list[tuple[float, dict]] = []  # (time, {sm_clock_mhz, temp_c, throttle})
        self._tele = getattr(sensor, "telemetry", None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                p = self.sensor.power_w()
                t = self.clock()
                if p is not None:
                    self.samples.append((t, float(p)))
                if self._tele is not None:
                    self.telemetry.append((t, dict(self._tele())))
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


def idle_power(sensor: PowerSensor, idle_s: float, interval_s: float = 0.05,
               sleep: Callable[[float], object] = time.sleep) -> float | None:
    """Mean power over ``idle_s`` seconds of doing nothing (None without a power reading)."""
    if sensor.name == "none" or idle_s <= 0:
        return None
    with PowerSampler(sensor, interval_s) as s:
        sleep(idle_s)
    return mean_power(s.samples, -math.inf, math.inf)[0]


@dataclass(frozen=True)
class Cooldown:
    """How a cooldown ended: seconds waited, whether power came back to idle, last reading."""

    waited_s: float
    reached: bool
    last_w: float | None


def cooldown(sensor: PowerSensor, idle_w: float | None, tol_w: float = 5.0, max_s: float = 60.0,
             interval_s: float = 0.25, clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], object] = time.sleep) -> Cooldown:
    """Wait until the sensor's power is within ``tol_w`` of ``idle_w`` (or ``max_s`` passed).
    The NVML reading is a ~1 s moving average, so it is read every ``interval_s`` and the
    wait ends at the first reading at or below idle + tol."""
    if idle_w is None or sensor.name == "none":
        return Cooldown(0.0, True, None)
    t0 = clock()
    last = None
    while True:
        last = sensor.power_w()
        if last is None or last <= idle_w + tol_w:
            return Cooldown(clock() - t0, True, last)
        if clock() - t0 >= max_s:
            return Cooldown(clock() - t0, False, last)
        sleep(interval_s)


@dataclass(frozen=True)
class LoopResult:
    """What a steady loop measured. Power fields are None when the sensor cannot give them."""

    runtime_ms: float  # wall time per call inside the loop
    calls: int
    loop_s: float
    power_w: float | None  # energy counter over the loop when available, else sampled mean
    idle_power_w: float | None
    energy_j: float | None  # per call
    n_samples: int
    sensor: str
    method: str
    power_sampled_w: float | None = None  # NVML samples after settle_s: the cross-check
    sm_clock_mhz: float | None = None  # median during the loop
    sm_clock_min_mhz: float | None = None
    temp_c: float | None = None  # max during the loop
    throttle_reasons: str = ""  # union over the loop
    cooldown_s: float = 0.0
    cooled: bool = True


MIN_LOOP_S = 10.0


def _telemetry_summary(tele: list[tuple[float, dict]], t_from: float, t_to: float) -> dict:
    rows = [d for t, d in tele if t_from <= t <= t_to]
    clocks = [d["sm_clock_mhz"] for d in rows if d.get("sm_clock_mhz") is not None]
    temps = [d["temp_c"] for d in rows if d.get("temp_c") is not None]
    reasons = sorted({r for d in rows for r in (d.get("throttle") or ())})
    return {"sm_clock_mhz": float(np.median(clocks)) if clocks else None,
            "sm_clock_min_mhz": float(min(clocks)) if clocks else None,
            "temp_c": float(max(temps)) if temps else None, "throttle_reasons": "|".join(reasons)}


def steady_loop(launch: Callable[[], object], sync: Callable[[], object], sensor: PowerSensor,
                duration_s: float = MIN_LOOP_S, idle_w: float | None = None, settle_s: float = 1.0,
                interval_s: float = 0.02, cooldown_tol_w: float = 5.0, cooldown_max_s: float = 60.0,
                min_duration_s: float = MIN_LOOP_S, clock: Callable[[], float] = time.perf_counter,
                sleep: Callable[[float], object] = time.sleep) -> LoopResult:
    """Cool down to ``idle_w``, then repeat ``launch`` for about ``duration_s`` seconds while
    polling power and telemetry.

    Power comes from the energy counter over the loop when the sensor has one (its updates
    every 20-100 ms do not matter over >= 10 s); the mean of the NVML samples after
    ``settle_s`` (the ~1 s moving average catching up) is kept as a cross-check, and is the
    power only without a counter. ``launch`` enqueues one kernel, ``sync`` waits
    (``torch.cuda.synchronize``)."""
    if duration_s < min_duration_s:
        raise ValueError(f"duration_s ({duration_s}) must be >= {min_duration_s} s (sensor averaging)")
    if duration_s <= settle_s:
        raise ValueError(f"duration_s ({duration_s}) must exceed settle_s ({settle_s})")
    sync()
    cool = cooldown(sensor, idle_w, cooldown_tol_w, cooldown_max_s, sleep=sleep)
    launch()
    sync()  # warm-up
    t0 = clock()
    launch()
    sync()
    one = max(clock() - t0, 1e-7)
    calls = max(2, int(math.ceil(duration_s / one)))
    smp = PowerSampler(sensor, interval_s, clock)
    e0 = sensor.energy_j()
    smp.start()
    t_start = clock()
    for _ in range(calls):
        launch()
    sync()
    t_end = clock()
    e1 = sensor.energy_j()
    samples = smp.stop()
    loop_s = t_end - t_start
    sampled, n = mean_power(samples, t_start + settle_s, t_end)
    tele = _telemetry_summary(smp.telemetry, t_start, t_end)
    runtime_ms = loop_s * 1e3 / calls
    if e0 is not None and e1 is not None and e1 > e0:
        power, energy, method = (e1 - e0) / loop_s, (e1 - e0) / calls, "energy-counter-steady-loop"
    elif sampled is not None:
        power, energy, method = sampled, sampled * runtime_ms / 1e3, "sampled-steady-loop"
    else:
        power, energy, method = None, None, "none"
    return LoopResult(runtime_ms, calls, loop_s, power, idle_w, energy, n,
                      sensor.name if method != "none" else "none", method, sampled,
                      tele["sm_clock_mhz"], tele["sm_clock_min_mhz"], tele["temp_c"], tele["throttle_reasons"],
                      cool.waited_s, cool.reached)
