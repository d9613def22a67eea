"""Fidelity against the public set of 280 real DRAMSys 4.0 runs (``specs/dram_calibration``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archlab.core import paths
from archlab.problems.dram.config import KNOBS
from archlab.problems.dram.controller import prepare, simulate_many

CSV = Path("specs") / "dram_calibration" / "dramsys_calibration.csv"
METRICS = ("makespan_ns", "energy_pJ", "avg_power_mW")


def load_calibration(path: Path | None = None) -> pd.DataFrame:
    """The calibration table (``trace`` without ``.stl``; knob columns as in KNOBS)."""
    path = path or paths.shared() / CSV
    df = pd.read_csv(path)
    df["trace"] = df["trace"].str.replace(".stl", "", regex=False)
    return df


def compare(df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each calibration row with our ``sim_*`` metrics and relative errors ``err_*``."""
    df = load_calibration() if df is None else df.copy()
    parts = []
    for trace, g in df.groupby("trace", sort=False):
        configs = [{k: r[k] for k in KNOBS.names} for r in g.to_dict("records")]
        res = simulate_many(prepare(trace), configs)
        g = g.copy()
        for m in METRICS:
            g["sim_" + m] = [getattr(r, m) for r in res]
            g["err_" + m] = (g["sim_" + m] - g[m]) / g[m]
        parts.append(g)
    return pd.concat(parts)


def summary(cmp: pd.DataFrame) -> pd.DataFrame:
    """Per trace and metric: Spearman rank correlation, median and max |relative error|."""
    rows = []
    for (trace, subset), g in _groups(cmp):
        for m in ("makespan_ns", "energy_pJ"):
            rows.append({"trace": trace, "configs": subset, "metric": m, "n": len(g),
                         "spearman": float(g[m].rank().corr(g["sim_" + m].rank())),
                         "median_rel_err": float(np.median(np.abs(g["err_" + m]))),
                         "max_rel_err": float(np.max(np.abs(g["err_" + m])))})
    return pd.DataFrame(rows)


def _groups(cmp: pd.DataFrame):
    for trace, g in cmp.groupby("trace", sort=False):
        yield (trace, "all"), g
        yield (trace, "random"), g[g["config_id"].str.startswith("random")]
