"""Per-knob sensitivity of makespan and energy (one-knob sweeps around random contexts)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from archlab.problems.dram.config import KNOBS
from archlab.problems.dram.controller import prepare, simulate_many
from archlab.problems.dram.trace import resolve_trace

METRICS = ("makespan_ns", "energy_pJ")


def knob_sweeps(trace: str, contexts: int, seed: int, spec: str = "DDR3-1600",
                n_requests: int = 10_000) -> pd.DataFrame:
    """Tidy table: for ``contexts`` random base configurations (the first is the DRAMSys
    default), every value of every knob; one row per (context, knob, value)."""
    rng = np.random.default_rng(seed)
    bases = [KNOBS.default()] + KNOBS.sample_many(rng, contexts - 1)
    rows, configs = [], []
    for ci, base in enumerate(bases):
        for dim in KNOBS:
            for v in dim.values:
                configs.append({**base, dim.name: v})
                rows.append({"trace": trace, "context": ci, "knob": dim.name, "value": str(v),
                             "is_base": v == base[dim.name]})
    pt = prepare(resolve_trace(trace, n=n_requests), spec)
    res = simulate_many(pt, configs)
    df = pd.DataFrame(rows)
    for m in METRICS:
        df[m] = [getattr(r, m) for r in res]
    return df


def sensitivity(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Per trace and knob: median over contexts of max/min - 1 of each metric across the
    knob's values (0 = the knob never matters; 1 = it can double the metric)."""
    g = sweeps.groupby(["trace", "knob", "context"])[list(METRICS)]
    spread = (g.max() / g.min() - 1).groupby(["trace", "knob"]).median()
    frac = (g.max() / g.min() - 1 > 1e-9).groupby(["trace", "knob"]).mean()
    out = spread.rename(columns={m: f"{m}_spread" for m in METRICS})
    for m in METRICS:
        out[f"{m}_matters"] = frac[m]
    return out.reset_index()


def value_effects(sweeps: pd.DataFrame) -> pd.DataFrame:
    """Per trace, knob and value: geometric-mean ratio of the metric to the context's base value."""
    base = sweeps[sweeps["is_base"]].drop_duplicates(["trace", "context", "knob"])
    merged = sweeps.merge(base[["trace", "context", "knob", *METRICS]], on=["trace", "context", "knob"],
                          suffixes=("", "_base"))
    for m in METRICS:
        merged[f"{m}_log_ratio"] = np.log(merged[m] / merged[f"{m}_base"])
    eff = merged.groupby(["trace", "knob", "value"], sort=False)[[f"{m}_log_ratio" for m in METRICS]].mean()
    return np.exp(eff).rename(columns=lambda c: c.replace("_log_ratio", "_ratio")).reset_index()
