"""Measurement harness: timing, sensors, the sampler with a fake sensor, cpu and cuda backends."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from archlab.gemm import cpu, cuda, sampler, schema, sensors, timing


def test_summarize_and_time_repeats():
    st = timing.summarize([1.0, 2.0, 3.0, 4.0, 100.0])
    assert st.median_ms == 3.0 and st.min_ms == 1.0 and st.repeats == 5
    assert st.spread == pytest.approx((4.0 - 2.0) / 3.0)
    ticks = iter(np.arange(0, 100, 0.001))  # fake clock: every call advances 1 ms
    st = timing.time_repeats(lambda: None, warmup=2, repeats=3, clock=lambda: next(ticks))
    assert st.median_ms == pytest.approx(1.0) and st.repeats == 3
    with pytest.raises(ValueError, match="positive"):
        timing.summarize([1.0, -1.0])


class FakeGpu:
    """A fake device: 30 W idle, 150 W while queued 2 ms 'kernels' run; energy integrates that."""

    name = "fake"

    def __init__(self, has_energy=True):
        self.has_energy = has_energy
        self.t0 = time.perf_counter()
        self.busy: list[tuple[float, float]] = []  # queued kernel intervals

    def _busy_until(self):
        return self.busy[-1][1] if self.busy else 0.0

    def launch(self):
        now = time.perf_counter()
        if now >= self._busy_until():
            self.burst = now  # the device was idle: a new busy period starts
        start = max(self._busy_until(), now)
        self.busy.append((start, start + 0.002))

    def sync(self):
        while time.perf_counter() < self._busy_until():
            time.sleep(0.0005)

    def power_w(self):
        t = time.perf_counter()
        return 150.0 if self.busy and self.burst <= t < self._busy_until() else 30.0

    def energy_j(self):
        if not self.has_energy:
            return None
        now = time.perf_counter()
        on = sum(max(0.0, min(b, now) - a) for a, b in list(self.busy))
        return 30.0 * (now - self.t0) + 120.0 * on

    def close(self):
        pass


class Telemetry(FakeGpu):
    """The fake device with NVML-like telemetry: clocks drop and 'sw_power_cap' shows while busy."""

    def telemetry(self):
        busy = self.power_w() > 100
        return {"sm_clock_mhz": 1800.0 if busy else 2400.0, "temp_c": 70.0 if busy else 40.0,
                "throttle": ("sw_power_cap",) if busy else ()}


@pytest.mark.parametrize("has_energy", [True, False])
def test_steady_loop_fake_sensor(has_energy):
    gpu = Telemetry(has_energy)
    res = sampler.steady_loop(gpu.launch, gpu.sync, gpu, duration_s=0.6, idle_w=30.0, settle_s=0.1,
                              interval_s=0.005, min_duration_s=0.5)
    assert res.idle_power_w == pytest.approx(30.0)
    assert res.power_w == pytest.approx(150.0, rel=0.05)
    assert res.runtime_ms == pytest.approx(2.0, rel=0.25)
    assert res.n_samples >= 3 and res.calls >= 20  # loose: the test machine is shared
    assert res.energy_j == pytest.approx(0.150 * res.runtime_ms, rel=0.1)
    assert res.method == ("energy-counter-steady-loop" if has_energy else "sampled-steady-loop")
    assert res.sensor == "fake"
    # the NVML samples are kept as a cross-check of the counter
    assert res.power_sampled_w == pytest.approx(150.0, rel=0.05)
    # clocks, temperature and throttle reasons come from samples taken during the loop
    assert res.sm_clock_min_mhz == 1800.0 and res.temp_c == 70.0 and "sw_power_cap" in res.throttle_reasons
    assert res.cooled and res.cooldown_s < 1.0


def test_steady_loop_needs_ten_seconds_by_default():
    gpu = FakeGpu()
    with pytest.raises(ValueError, match=">= 10"):
        sampler.steady_loop(gpu.launch, gpu.sync, gpu, duration_s=2.0)


class Cooling:
    """Power falls 20 W per fake second from 150 W to 30 W."""

    name = "cooling"

    def __init__(self):
        self.t = 0.0

    def clock(self):
        return self.t

    def sleep(self, s):
        self.t += s

    def power_w(self):
        return max(30.0, 150.0 - 20.0 * self.t)

    def energy_j(self):
        return None


def test_cooldown_waits_for_idle_and_gives_up():
    c = Cooling()
    res = sampler.cooldown(c, idle_w=30.0, tol_w=5.0, max_s=60, interval_s=0.25, clock=c.clock, sleep=c.sleep)
    assert res.reached and res.waited_s == pytest.approx(5.75, abs=0.26) and res.last_w <= 35.0
    c = Cooling()
    res = sampler.cooldown(c, idle_w=10.0, tol_w=1.0, max_s=3, interval_s=0.5, clock=c.clock, sleep=c.sleep)
    assert not res.reached and res.waited_s >= 3
    assert sampler.cooldown(sensors.NoSensor(), 30.0).reached  # nothing to wait for


def test_steady_loop_no_sensor_records_runtime_only():
    gpu = FakeGpu()
    res = sampler.steady_loop(gpu.launch, gpu.sync, sensors.NoSensor(), duration_s=0.2, settle_s=0.05,
                              min_duration_s=0.1)
    assert res.power_w is None and res.energy_j is None and res.idle_power_w is None
    assert res.sensor == "none" and res.method == "none" and res.runtime_ms > 0


def test_sampler_surfaces_sensor_errors():
    class Broken:
        name = "broken"

        def power_w(self):
            raise OSError("device gone")

    s = sampler.PowerSampler(Broken(), 0.01).start()
    time.sleep(0.02)
    with pytest.raises(RuntimeError, match="device gone"):
        s.stop()


def test_rapl_sensor_wraps(tmp_path):
    (tmp_path / "energy_uj").write_text("900\n")
    (tmp_path / "max_energy_range_uj").write_text("1000\n")
    s = sensors.RaplSensor(tmp_path)
    assert s.energy_j() == pytest.approx(900e-6)
    (tmp_path / "energy_uj").write_text("100\n")  # wrapped
    assert s.energy_j() == pytest.approx(1100e-6)
    assert s.power_w() is None
    with pytest.raises(sensors.SensorUnavailable):
        sensors.RaplSensor(tmp_path / "nope")


def test_sensor_factory():
    assert sensors.make("none").name == "none"
    assert sensors.make("auto").name in ("none", "nvml", "rapl")
    with pytest.raises(ValueError, match="allowed: none, nvml, rapl, auto"):
        sensors.make("thermometer")


@pytest.mark.parametrize("tile", [1, 3, 16, 64])
def test_tiled_kernel_correct(tile):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((37, 29)), rng.standard_normal((29, 41))
    np.testing.assert_allclose(cpu.tiled_gemm(a, b, tile), a @ b, rtol=1e-10, atol=1e-10)


def test_cpu_measure_no_sensor_path():
    cfgs = cpu.grid([(32, 48, 40)], tiles=[4, 16], tiled_dtype="float32", blas=["numpy", "torch"],
                    threads=[1], dtypes=["float64"], layouts=["nn", "tt"])
    m = cpu.measure(cfgs, passes=2, samples=2, warmup=1, seed=1, sensor=sensors.NoSensor(), remeasure_rounds=0)
    df = schema.validate(m.rows)
    assert len(df) == 6
    assert set(df["kernel"]) == {"numba-tiled", "numpy-blas", "torch-blas"}
    assert df["power_w"].isna().all() and df["energy_j"].isna().all()
    assert (df["sensor"] == "none").all() and (df["power_method"] == "none").all()
    assert (df["runtime_ms"] > 0).all() and (df["samples"] == 4).all() and (df["passes"] == 2).all()
    assert (df["runtime_ms"] <= df["runtime_median_ms"]).all() and df["runtime_stat"].eq("min").all()
    assert df["noise_pct"].notna().all() and df["load_avg_1m"].notna().all()
    tiled = df[df["kernel"] == "numba-tiled"]
    assert sorted(tiled["tile_m"].tolist()) == [4, 16] and tiled["threads"].eq(1).all()
    # the visit log: every configuration once per pass, passes interleaved (pass 0 ends before pass 1)
    v = m.visits
    assert len(v) == 12 and v.groupby("config")["pass"].nunique().eq(2).all()
    assert v["pass"].is_monotonic_increasing
    assert {"load_avg_1m", "host_busy_pct", "steal_pct", "preempted", "loaded"} <= set(v.columns)


class CountingEnergy:
    """A fake RAPL counter: 1 J per kernel call made so far (calls counted by the kernel)."""

    name = "rapl"

    def __init__(self):
        self.calls = 0

    def energy_j(self):
        return float(self.calls)

    def power_w(self):
        return None

    def close(self):
        pass


def test_rapl_window_covers_only_the_timed_samples():
    sens = CountingEnergy()
    ticks = iter(np.arange(0, 1000, 0.001))  # fake clock: 1 ms per reading

    def call():
        sens.calls += 1

    v = cpu.visit(call, __import__("contextlib").nullcontext, warmup=3, samples=4, min_time_s=0.0,
                  sensor=sens, clock=lambda: next(ticks), cpu_clock=lambda: 0.0)
    # 3 warm-up calls happened before the window: the counter saw exactly the 4 timed calls
    assert sens.calls == 7 and v.energy_j == pytest.approx(4.0)
    assert len(v.wall_ms) == 4 and v.inner == 1


def test_cpu_measure_power_from_the_timed_window(monkeypatch):
    sens = CountingEnergy()
    real = cpu.prepare

    def counting(cfg, seed=0, check=True):
        call, ctx = real(cfg, seed, check)

        def c():
            sens.calls += 1
            return call()
        return c, ctx

    monkeypatch.setattr(cpu, "prepare", counting)
    cfgs = cpu.grid([(16, 16, 16)], tiles=[4], tiled_dtype="float32", blas=[], threads=[1],
                    dtypes=[], layouts=[])
    m = cpu.measure(cfgs, passes=2, samples=3, warmup=2, sensor=sens, remeasure_rounds=0)
    r = m.rows.iloc[0]
    assert r["sensor"] == "rapl" and r["power_method"] == "rapl-package-energy-over-timed-samples"
    assert r["power_w"] > 0 and r["energy_j"] == pytest.approx(r["power_w"] * r["runtime_ms"] / 1e3)


def test_cpu_measure_remeasures_loaded_rows(monkeypatch):
    monkeypatch.setattr(cpu, "loadavg", lambda path="/proc/loadavg": 99.0)  # always under load
    cfgs = cpu.grid([(16, 16, 16)], tiles=[4], tiled_dtype="float32", blas=["numpy"], threads=[1],
                    dtypes=["float32"], layouts=["nn"])
    m = cpu.measure(cfgs, passes=2, samples=1, remeasure_rounds=2, seed=0)
    assert (m.rows["remeasured"] == 2).all() and len(m.visits) == 2 * (2 + 2)
    assert m.visits["loaded"].all() and (m.rows["load_avg_1m"] == 99.0).all()


def test_pinning_and_statistics():
    import os

    before = os.sched_getaffinity(0)
    with cpu.pinned(-1) as p:
        assert os.sched_getaffinity(0) == {p.cpu} and p.cpu == max(before)
    assert os.sched_getaffinity(0) == before
    with pytest.raises(ValueError, match="not one of"):
        with cpu.pinned(10_000):
            pass
    assert cpu.statistic([4.0, 1.0, 2.0, 3.0], "min") == 1.0
    assert cpu.statistic([4.0, 1.0, 2.0, 3.0], "p25") == pytest.approx(1.75)
    with pytest.raises(ValueError, match="allowed: min, p25, median"):
        cpu.statistic([1.0], "max")


def test_host_load_readers(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n")
    s0 = cpu.proc_stat(str(stat))
    stat.write_text("cpu  160 0 70 900 50 0 0 20 0 0\n")
    busy, steal = cpu.host_load(s0, cpu.proc_stat(str(stat)))
    assert busy == pytest.approx(100 * 100 / 200) and steal == pytest.approx(10.0)
    (tmp_path / "loadavg").write_text("3.50 2.00 1.00 2/100 42\n")
    assert cpu.loadavg(str(tmp_path / "loadavg")) == 3.5
    assert cpu.proc_stat(str(tmp_path / "none")) is None and cpu.loadavg(str(tmp_path / "none")) is None
    assert cpu.host_load(None, s0) == (None, None)


def test_cpu_shape_grid_seeded():
    a = cpu.shape_grid([1, 2, 3], [4, 5], [6], max_shapes=4, seed=3)
    assert a == cpu.shape_grid([1, 2, 3], [4, 5], [6], max_shapes=4, seed=3) and len(a) == 4
    assert len(cpu.shape_grid([1, 2], [3], [4], None, 0)) == 2
    b = cpu.shape_grid([1, 2, 3], [4, 5], [6], max_shapes=3, seed=3, include=[(9, 9, 9)])
    assert b[0] == (9, 9, 9) and len(b) == 3
    big = cpu.grid([(8, 8, 8), (1024, 1024, 1024)], [4], "float32", ["numpy"], [1], ["float32"], ["nn"],
                   tiled_max_flops=1e6)
    assert [c.kernel for c in big] == ["numba-tiled", "numpy-blas", "numpy-blas"]


def test_cuda_grid_and_row_without_gpu():
    cfgs = cuda.grid([(256, 256, 256)], blocks=[(64, 64, 32), (256, 256, 64)], warps=[4], stages=[2, 3],
                     dtypes=["float16"], smem_limit=99 * 1024)
    assert cfgs[0].kernel == "cublas"
    # 256x256x64 in fp16 needs 128 KiB (2 stages) or 192 KiB (3) > limit: skipped
    assert all(c.smem_bytes() <= 99 * 1024 for c in cfgs[1:]) and len(cfgs) == 3
    loop = sampler.LoopResult(1.0, 3000, 3.0, 210.0, 60.0, 0.2, 140, "nvml", "energy-counter-steady-loop",
                              power_sampled_w=205.0, sm_clock_mhz=1755.0, sm_clock_min_mhz=1700.0, temp_c=71.0,
                              throttle_reasons="sw_power_cap")
    rows = [cuda.row(c, [1.0, 1.1, 0.9], loop, "NVIDIA H200", 1980.0, host="h") for c in cfgs]
    df = schema.validate(schema.from_records(rows))
    assert df["power_w"].eq(210.0).all() and df["idle_power_w"].eq(60.0).all()
    assert df["power_sampled_w"].eq(205.0).all() and df["sm_clock_mhz"].eq(1755.0).all()
    assert df["temp_c"].eq(71.0).all() and df["throttle_reasons"].eq("sw_power_cap").all()
    assert df.loc[1, "smem_bytes"] == 2 * (64 + 64) * 32 * 2
    none = sampler.LoopResult(1.0, 10, 0.01, None, None, None, 0, "none", "none")
    r = schema.from_records([cuda.row(cfgs[0], [1.0], none, "x")])
    assert r["power_w"].isna().all() and r["sensor"].eq("none").all()


def test_cuda_measure_needs_gpu():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():  # pragma: no cover
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="needs a CUDA GPU"):
        cuda.measure([cuda.CudaConfig("cublas", 8, 8, 8)])


def test_event_timing_flushes_l2_outside_the_events():
    log = []

    class Ev:
        def __init__(self):
            self.t = None

        def record(self):
            self.t = len(log)
            log.append("record")

        def synchronize(self):
            pass

        def elapsed_time(self, other):
            return float(other.t - self.t)

    times = cuda.event_times_ms(lambda: log.append("launch"), 3, flush=lambda: log.append("flush"), event=Ev)
    assert log == ["flush", "record", "launch", "record"] * 3 and times == [2.0, 2.0, 2.0]


def test_precision_tolerances_and_throttle_names():
    assert cuda.tolerance("float32", "ieee") == 1e-4 and cuda.tolerance("float32", "tf32") == 1e-2
    with pytest.raises(ValueError, match="allowed: ieee, tf32"):
        cuda.tolerance("float32", "fp8")
    assert sensors.throttle_names(0x4 | 0x40) == ("sw_power_cap", "hw_thermal")
    assert cuda.CudaSettings().duration_s >= 10 and cuda.CudaSettings().flush_l2


def test_schema_rejects_invented_power_and_unknown_columns():
    row = {"M": 1, "N": 1, "K": 1, "runtime_ms": 1.0, "power_w": 5.0, "sensor": "none"}
    with pytest.raises(schema.SchemaError, match="sensor is 'none'"):
        schema.validate(schema.from_records([row]))
    with pytest.raises(schema.SchemaError, match="unknown column"):
        schema.from_records([{"M": 1, "wattage": 3}])
    with pytest.raises(schema.SchemaError, match="'M': must be a positive"):
        schema.validate(schema.from_records([{"M": 0, "N": 1, "K": 1}]))
    assert isinstance(schema.empty(), pd.DataFrame) and list(schema.empty().columns) == schema.NAMES


def test_nvml_unavailable_is_reported():
    try:
        s = sensors.NvmlSensor()
    except sensors.SensorUnavailable as e:
        assert "NVML" in str(e)
    else:  # pragma: no cover - a GPU host
        s.close()
        pytest.skip("NVML is available here")
