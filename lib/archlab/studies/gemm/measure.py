"""Run the CPU harness from a params sweep and write its outputs (used by the stage and the CLI)."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from archlab.gemm import cpu, schema, sensors
from archlab.studies.gemm.params import CpuSweep


def cpu_sensor(kind: str) -> sensors.PowerSensor:
    """The CPU power sensor of params (``auto``: RAPL where readable, else none)."""
    if kind == "auto":
        try:
            return sensors.RaplSensor()
        except sensors.SensorUnavailable:
            return sensors.NoSensor()
    return sensors.make(kind)


def configs(s: CpuSweep, seed: int, include=()) -> list[cpu.CpuConfig]:
    shapes = cpu.shape_grid(s.m, s.n, s.k, s.max_shapes, seed, include=include)
    return cpu.grid(shapes, s.tiles, s.tiled_dtype, s.blas, s.threads, s.dtypes, s.layouts, s.tiled_max_flops)


def run_cpu(s: CpuSweep, seed: int, out_csv: Path, include=(), sensor: str | None = None,
            progress: Callable[[int, int], object] | None = None, provenance: dict | None = None) -> cpu.Measurement:
    """Measure the sweep ``s``; write ``out_csv`` (schema rows), ``<stem>.visits.csv`` (the
    visit log with load per visit) and ``<stem>.provenance.json``."""
    sens = cpu_sensor(sensor or s.sensor)
    cfgs = configs(s, seed, include)
    m = cpu.measure(cfgs, passes=s.passes, samples=s.samples, warmup=s.warmup, min_time_s=s.min_time_s,
                    stat=s.stat, core=s.core, seed=seed, sensor=sens, load_max=s.load_max,
                    steal_max=s.steal_max, preempt_max=s.preempt_max, remeasure_rounds=s.remeasure_rounds,
                    pass_gap_s=s.pass_gap_s, progress=progress)
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    schema.save(m.rows, out_csv)
    m.visits.to_csv(out_csv.with_suffix(".visits.csv"), index=False)
    prov = {"backend": "cpu", "device": cpu.cpu_name(), "python": platform.python_version(),
            "sensor": sens.name, "pinned_core": m.core, "configurations": len(cfgs),
            "visits": len(m.visits), "first": str(m.visits["timestamp"].min()),
            "last": str(m.visits["timestamp"].max()), **(provenance or {})}
    out_csv.with_suffix(".provenance.json").write_text(json.dumps(prov, indent=2, default=str) + "\n")
    return m


def provenance(path: Path) -> dict:
    """The provenance record written beside a run (empty when absent)."""
    p = Path(path).with_suffix(".provenance.json")
    return json.loads(p.read_text()) if p.is_file() else {}


def load_run(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(rows, visit log or None) of a written run."""
    rows = schema.load(path)
    v = Path(path).with_suffix(".visits.csv")
    return rows, (pd.read_csv(v) if v.is_file() else None)
