"""Trace-driven DRAM controller with DRAMSys 4.0 semantics (see README, "DRAM simulator").

``simulate(trace, config, spec)`` -> :class:`DramResult`; ``simulate_many`` runs a batch
of configurations on one trace, decoding the trace once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archlab.problems.dram import kernel as K
from archlab.problems.dram.config import encode_config
from archlab.problems.dram.energy import total_energy
from archlab.problems.dram.specs import MemSpec, get_spec
from archlab.problems.dram.trace import Trace, resolve_trace

TRACE_CLOCK_MHZ = 800.0  # DRAMSys tracesetup clkMhz in ArchGym's setup


@dataclass(frozen=True)
class DramResult:
    """Outcome of one simulation; every field name carries its unit."""

    makespan_ns: float
    energy_pJ: float
    avg_power_mW: float
    mean_latency_ns: float
    p99_latency_ns: float
    bandwidth_GBps: float
    n_act: int
    n_pre: int
    n_rd: int
    n_wr: int
    n_ref: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class PreparedTrace:
    """A trace decoded for one spec: one row per request in the kernel's ``Q_*`` column order
    (arrival cycle on the memory clock, is-write, bank, row, burst line)."""

    requests: np.ndarray
    spec: MemSpec
    timing: np.ndarray

    @property
    def n(self) -> int:
        return len(self.requests)


def prepare(trace: Trace | str | Path, spec: str | MemSpec = "DDR3-1600") -> PreparedTrace:
    """Decode addresses and convert trace cycles (800 MHz) to memory cycles."""
    spec = get_spec(spec)
    trace = resolve_trace(trace)
    bank, row, _ = spec.decode(trace.address)
    if spec.clk_mhz == TRACE_CLOCK_MHZ:
        arrival = trace.cycle
    else:
        arrival = np.ceil(trace.cycle * (spec.clk_mhz / TRACE_CLOCK_MHZ) - 1e-9).astype(np.int64)
    line = trace.address // (spec.burst_length * 8)
    columns = (arrival, trace.is_write, bank, row, line)  # kernel.Q_* order
    requests = np.stack([np.asarray(c, np.int64) for c in columns], axis=1)  # a new C-order array
    return PreparedTrace(requests, spec, spec.timing_vector())


def _run(pt: PreparedTrace, cfg: np.ndarray, lat: np.ndarray | None = None,
         work: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel; ``lat`` (n,) and ``work`` (n, N_WORK) are reusable int64 buffers."""
    if lat is None:
        lat = np.empty(pt.n, np.int64)
    if work is None:
        work = np.empty((pt.n, K.N_WORK), np.int64)
    spec = pt.spec
    res = K.simulate_kernel(pt.requests, cfg, pt.timing, spec.banks, spec.banks // spec.bank_groups,
                            spec.currents_ma["IDD3N"] != spec.currents_ma["IDD2N"], lat, work)
    return res, lat


def _result(pt: PreparedTrace, res: np.ndarray, lat: np.ndarray | None) -> DramResult:
    spec = pt.spec
    tck = spec.tck_ns
    r = res.tolist()  # Python floats: same IEEE arithmetic as numpy scalars, less overhead
    makespan = r[K.R_MAKESPAN] * tck
    window = r[K.R_EWINDOW]
    n_act, n_pre, n_rd, n_wr, n_ref = r[K.R_ACT], r[K.R_PRE], r[K.R_RD], r[K.R_WR], r[K.R_REF]
    energy = total_energy(spec, n_act, n_pre, n_rd, n_wr, n_ref, window, r[K.R_OPEN])
    p99 = _percentile(lat, 99.0) * tck if lat is not None else math.nan
    return DramResult(
        makespan_ns=makespan,
        energy_pJ=energy,
        avg_power_mW=energy / (window * tck) if window > 0 else 0.0,
        mean_latency_ns=r[K.R_LATSUM] / pt.n * tck,
        p99_latency_ns=p99,
        bandwidth_GBps=pt.n * 64 / makespan if makespan > 0 else 0.0,
        n_act=int(n_act), n_pre=int(n_pre), n_rd=int(n_rd), n_wr=int(n_wr), n_ref=int(n_ref),
    )


def _percentile(x: np.ndarray, q: float) -> float:
    """``np.percentile(x, q)`` (linear interpolation) via an O(n) partition."""
    pos = q / 100.0 * (len(x) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(x) - 1)
    part = np.partition(x, [lo, hi])
    return float(part[lo] + (part[hi] - part[lo]) * (pos - lo))


def simulate(trace: Trace | PreparedTrace | str | Path, config: Mapping[str, Any] | None = None,
             spec: str | MemSpec = "DDR3-1600") -> DramResult:
    """Simulate ``trace`` (Trace, kind name or .stl path) under ``config`` (missing knobs default)."""
    pt = trace if isinstance(trace, PreparedTrace) else prepare(trace, spec)
    res, lat = _run(pt, encode_config(config or {}))
    return _result(pt, res, lat)


def simulate_many(trace: Trace | PreparedTrace | str | Path, configs: Sequence[Mapping[str, Any]],
                  spec: str | MemSpec = "DDR3-1600") -> list[DramResult]:
    """Simulate one trace under many configurations (trace decoded once; identical results
    to calling :func:`simulate` for each)."""
    pt = trace if isinstance(trace, PreparedTrace) else prepare(trace, spec)
    encoded = [encode_config(c) for c in configs]
    lat = np.empty(pt.n, np.int64)  # buffers shared by the batch (results keep no reference)
    work = np.empty((pt.n, K.N_WORK), np.int64)
    return [_result(pt, _run(pt, cfg, lat, work)[0], lat) for cfg in encoded]
