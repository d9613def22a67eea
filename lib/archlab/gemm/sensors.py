"""Pluggable power sensors: NVML (GPU), Linux RAPL powercap (CPU package), and none.

A sensor reports instantaneous power (W) and, where the hardware has one, a cumulative
energy counter (J). :class:`NoSensor` reports neither: callers record runtime only and mark
the row ``sensor="none"``. No sensor ever returns an invented value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

POWERCAP = Path("/sys/class/powercap")


class SensorUnavailable(RuntimeError):
    """The requested sensor cannot be read on this host."""


@runtime_checkable
class PowerSensor(Protocol):
    """What the sampler needs from a sensor."""

    name: str

    def power_w(self) -> float | None:
        """Instantaneous (or driver-averaged) power, W; None when not supported."""

    def energy_j(self) -> float | None:
        """Monotonic energy counter, J; None when not supported."""

    def close(self) -> None: ...


class NoSensor:
    """Explicitly no power measurement (runtime only)."""

    name = "none"

    def power_w(self) -> float | None:
        return None

    def energy_j(self) -> float | None:
        return None

    def close(self) -> None:
        pass


class NvmlSensor:
    """NVIDIA GPU power via NVML (``nvidia-ml-py``): ``power.draw`` (a ~1 s moving average on
    recent GPUs) and the total-energy counter (mJ, Volta+) where supported."""

    name = "nvml"

    def __init__(self, index: int = 0):
        try:
            import pynvml
        except ImportError as e:  # pragma: no cover - the package is a dependency
            raise SensorUnavailable(f"nvidia-ml-py not importable: {e}") from None
        try:
            pynvml.nvmlInit()
            self._h = pynvml.nvmlDeviceGetHandleByIndex(index)
        except pynvml.NVMLError as e:
            raise SensorUnavailable(f"NVML unavailable: {e}") from None
        self._nvml = pynvml
        try:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._h)
            self._has_energy = True
        except pynvml.NVMLError:
            self._has_energy = False

    def power_w(self) -> float | None:
        return self._nvml.nvmlDeviceGetPowerUsage(self._h) / 1000.0

    def energy_j(self) -> float | None:
        if not self._has_energy:
            return None
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._h) / 1000.0

    def info(self) -> dict:
        """Device name, driver, clocks and limits for provenance."""
        n = self._nvml
        return {
            "device": n.nvmlDeviceGetName(self._h),
            "driver": n.nvmlSystemGetDriverVersion(),
            "sm_clock_mhz": n.nvmlDeviceGetClockInfo(self._h, n.NVML_CLOCK_SM),
            "mem_clock_mhz": n.nvmlDeviceGetClockInfo(self._h, n.NVML_CLOCK_MEM),
            "power_limit_w": n.nvmlDeviceGetPowerManagementLimit(self._h) / 1000.0,
            "energy_counter": self._has_energy,
        }

    def telemetry(self) -> dict:
        """SM clock (MHz), temperature (C) and the active clock-throttle reasons (names)."""
        n = self._nvml
        out: dict = {"sm_clock_mhz": float(n.nvmlDeviceGetClockInfo(self._h, n.NVML_CLOCK_SM))}
        try:
            out["temp_c"] = float(n.nvmlDeviceGetTemperature(self._h, n.NVML_TEMPERATURE_GPU))
        except n.NVMLError:  # pragma: no cover
            out["temp_c"] = None
        try:
            mask = n.nvmlDeviceGetCurrentClocksThrottleReasons(self._h)
            out["throttle"] = throttle_names(mask, n)
        except n.NVMLError:  # pragma: no cover
            out["throttle"] = ()
        return out

    def sm_clock_mhz(self) -> float:
        return float(self._nvml.nvmlDeviceGetClockInfo(self._h, self._nvml.NVML_CLOCK_SM))

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:  # pragma: no cover
            pass


THROTTLE_REASONS = {  # NVML clocks-throttle-reason bits (nvml.h)
    0x1: "gpu_idle", 0x2: "app_clocks", 0x4: "sw_power_cap", 0x8: "hw_slowdown", 0x10: "sync_boost",
    0x20: "sw_thermal", 0x40: "hw_thermal", 0x80: "hw_power_brake", 0x100: "display_clocks",
}


def throttle_names(mask: int, nvml=None) -> tuple[str, ...]:
    """Names of the throttle-reason bits set in ``mask``."""
    return tuple(name for bit, name in THROTTLE_REASONS.items() if int(mask) & bit)


class RaplSensor:
    """CPU package energy from Linux powercap RAPL (``energy_uj``, wraps at
    ``max_energy_range_uj``). Power is not read directly: the sampler derives it from energy."""

    name = "rapl"

    def __init__(self, zone: Path | None = None):
        zone = zone or POWERCAP / "intel-rapl:0"
        self._file = Path(zone) / "energy_uj"
        try:
            self._last = int(self._file.read_text())
            rng = Path(zone) / "max_energy_range_uj"
            self._range = int(rng.read_text()) if rng.exists() else 2**32
        except (OSError, ValueError) as e:
            raise SensorUnavailable(f"RAPL powercap not readable at {zone}: {e}") from None
        self._wraps = 0

    def power_w(self) -> float | None:
        return None

    def energy_j(self) -> float | None:
        now = int(self._file.read_text())
        if now < self._last:  # counter wrapped
            self._wraps += 1
        self._last = now
        return (now + self._wraps * self._range) / 1e6

    def close(self) -> None:
        pass


def make(kind: str) -> PowerSensor:
    """``"none"``, ``"nvml"``, ``"rapl"``, or ``"auto"`` (the first that works, else none)."""
    if kind == "none":
        return NoSensor()
    if kind == "nvml":
        return NvmlSensor()
    if kind == "rapl":
        return RaplSensor()
    if kind == "auto":
        for cls in (NvmlSensor, RaplSensor):
            try:
                return cls()
            except SensorUnavailable:
                continue
        return NoSensor()
    raise ValueError(f"unknown sensor {kind!r}; allowed: none, nvml, rapl, auto")
