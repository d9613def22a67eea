"""Contamination rule for a measurement sweep: rows taken while other work shared the device.

The rule is symmetric over the whole sweep (head, middle and tail alike): a row is
*busy* when the device utilisation read at its power sample exceeds ``busy_pct``; a row is
*contaminated* when at least ``frac`` of the rows measured within ``window_min`` minutes of
it (centred, itself included) are busy. Utilisation read after the profiled kernel has
finished should be near 0; persistent high readings mean another process was using the GPU.
In GPPerf's CUTLASS sweep this flags the first ~35 minutes (busy head, all M = 512 shapes)
and the last ~3 hours (busy tail, M = 128256), and nothing in between.

:func:`sensitivity` re-applies the rule over a grid of thresholds.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

import numpy as np
import pandas as pd


def busy_window(df: pd.DataFrame, busy_pct: float = 50.0, frac: float = 0.5,
                window_min: float = 30.0) -> np.ndarray:
    """Boolean mask of contaminated rows (see the module docstring)."""
    if not 0 < frac <= 1:
        raise ValueError(f"frac must be in (0, 1], got {frac}")
    if window_min <= 0:
        raise ValueError(f"window_min must be > 0, got {window_min}")
    if "util_at_sample_pct" not in df or df["util_at_sample_pct"].isna().all():
        return np.zeros(len(df), bool)  # no utilisation readings: nothing can be flagged
    ts_ = pd.to_datetime(df["timestamp"], utc=True)
    t = ((ts_ - ts_.min()).dt.total_seconds() / 60.0).to_numpy(float)  # minutes
    busy = df["util_at_sample_pct"].astype("Float64").fillna(0).to_numpy(float) > busy_pct
    order = np.argsort(t, kind="stable")
    ts, bs = t[order], busy[order].astype(float)
    cum = np.concatenate([[0.0], np.cumsum(bs)])
    lo = np.searchsorted(ts, ts - window_min / 2, side="left")
    hi = np.searchsorted(ts, ts + window_min / 2, side="right")
    share = (cum[hi] - cum[lo]) / np.maximum(hi - lo, 1)
    mask = np.zeros(len(df), bool)
    mask[order] = share >= frac
    return mask


def describe(df: pd.DataFrame, mask: np.ndarray) -> dict:
    """Rows flagged, their time spans and the shapes they cover."""
    t = pd.to_datetime(df["timestamp"], utc=True)
    flagged = df[mask]
    spans = []
    if mask.any():
        order = np.argsort(t.to_numpy(), kind="stable")
        m = mask[order]
        edges = np.flatnonzero(np.diff(np.concatenate([[0], m.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            spans.append((t.iloc[order[a]].isoformat(), t.iloc[order[b - 1]].isoformat(), int(b - a)))
    return {"rows": int(mask.sum()), "share": float(mask.mean()) if len(mask) else 0.0, "spans": spans,
            "shapes": int((flagged["M"].astype(str) + "x" + flagged["N"].astype(str) + "x"
                           + flagged["K"].astype(str)).nunique())}


def sensitivity(df: pd.DataFrame, busy_pcts: Sequence[float], fracs: Sequence[float],
                windows_min: Sequence[float]) -> list[tuple[dict, np.ndarray]]:
    """(thresholds, mask) for every combination of the grids."""
    return [({"busy_pct": b, "frac": f, "window_min": w}, busy_window(df, b, f, w))
            for b, f, w in product(busy_pcts, fracs, windows_min)]
