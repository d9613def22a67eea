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


@pytest.mark.parametrize("has_energy", [True, False])
def test_steady_loop_fake_sensor(has_energy):
    gpu = FakeGpu(has_energy)
    res = sampler.steady_loop(gpu.launch, gpu.sync, gpu, duration_s=0.6, idle_s=0.2, settle_s=0.1,
                              interval_s=0.005)
    assert res.idle_power_w == pytest.approx(30.0)
    assert res.power_w == pytest.approx(150.0, rel=0.05)
    assert res.runtime_ms == pytest.approx(2.0, rel=0.25)
    assert res.n_samples >= 3 and res.calls >= 20  # loose: the test machine is shared
    assert res.energy_j == pytest.approx(0.150 * res.runtime_ms, rel=0.1)
    assert res.method == ("energy-counter-steady-loop" if has_energy else "sampled-steady-loop")
    assert res.sensor == "fake"


def test_steady_loop_no_sensor_records_runtime_only():
    gpu = FakeGpu()
    res = sampler.steady_loop(gpu.launch, gpu.sync, sensors.NoSensor(), duration_s=0.2, settle_s=0.05)
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
    df = cpu.measure(cfgs, warmup=1, repeats=2, seed=1, sensor=sensors.NoSensor())
    schema.validate(df)
    assert len(df) == 6
    assert set(df["kernel"]) == {"numba-tiled", "numpy-blas", "torch-blas"}
    assert df["power_w"].isna().all() and df["energy_j"].isna().all()
    assert (df["sensor"] == "none").all() and (df["power_method"] == "none").all()
    assert (df["runtime_ms"] > 0).all() and (df["repeats"] == 2).all()
    tiled = df[df["kernel"] == "numba-tiled"]
    assert sorted(tiled["tile_m"].tolist()) == [4, 16] and tiled["threads"].eq(1).all()


def test_cpu_shape_grid_seeded():
    a = cpu.shape_grid([1, 2, 3], [4, 5], [6], max_shapes=4, seed=3)
    assert a == cpu.shape_grid([1, 2, 3], [4, 5], [6], max_shapes=4, seed=3) and len(a) == 4
    assert len(cpu.shape_grid([1, 2], [3], [4], None, 0)) == 2


def test_cuda_grid_and_row_without_gpu():
    cfgs = cuda.grid([(256, 256, 256)], blocks=[(64, 64, 32), (256, 256, 64)], warps=[4], stages=[2, 3],
                     dtypes=["float16"], smem_limit=99 * 1024)
    assert cfgs[0].kernel == "cublas"
    # 256x256x64 in fp16 needs 128 KiB (2 stages) or 192 KiB (3) > limit: skipped
    assert all(c.smem_bytes() <= 99 * 1024 for c in cfgs[1:]) and len(cfgs) == 3
    loop = sampler.LoopResult(1.0, 3000, 3.0, 210.0, 60.0, 0.2, 140, "nvml", "energy-counter-steady-loop")
    rows = [cuda.row(c, [1.0, 1.1, 0.9], loop, "NVIDIA H200", 1980.0, host="h") for c in cfgs]
    df = schema.validate(schema.from_records(rows))
    assert df["power_w"].eq(210.0).all() and df["idle_power_w"].eq(60.0).all()
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
