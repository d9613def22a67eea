"""The tabulated accelerator space itself: exact fronts, where each dataflow lies, which knobs matter.

Everything here is computed from the whole table (a full factorial over the declared
subspace), never from a sample.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from archlab.analysis.pareto import TrueFront


def varied_knobs(frame: pd.DataFrame, knobs: Sequence[str]) -> list[str]:
    return [k for k in knobs if frame[k].nunique() > 1]


def knob_effects(frame: pd.DataFrame, knobs: Sequence[str], metrics: Sequence[str]) -> pd.DataFrame:
    """Exact variance decomposition of ``log10(metric)`` over a full-factorial table.

    ``main``: share of the variance explained by the knob alone, ``Var_k(E[y | k]) / Var(y)``
    (population variances over the table, which is balanced). ``interactions``: the share left
    after all main effects (every interaction of two or more knobs). One row per (metric, knob),
    plus a row ``knob = "(interactions)"`` per metric.
    """
    rows = []
    for m in metrics:
        y = np.log10(frame[m].to_numpy(np.float64))
        ok = np.isfinite(y)
        d = frame[ok].assign(_y=y[ok])
        total = float(d["_y"].var(ddof=0))
        mains = {k: float(d.groupby(k, observed=True)["_y"].mean().var(ddof=0)) / total if total > 0 else 0.0
                 for k in knobs}
        for k, s in mains.items():
            rows.append({"metric": m, "knob": k, "share": s})
        rows.append({"metric": m, "knob": "(interactions)", "share": max(0.0, 1.0 - sum(mains.values()))})
    return pd.DataFrame(rows)


def pair_interactions(frame: pd.DataFrame, knobs: Sequence[str], metric: str, top: int = 5) -> pd.DataFrame:
    """The ``top`` two-knob interactions of ``log10(metric)``: ``Var(E[y | a, b]) / Var(y)`` minus
    both main-effect shares (exact on a full factorial)."""
    y = np.log10(frame[metric].to_numpy(np.float64))
    d = frame.assign(_y=y)[np.isfinite(y)]
    total = float(d["_y"].var(ddof=0))
    main = {k: float(d.groupby(k, observed=True)["_y"].mean().var(ddof=0)) for k in knobs}
    rows = []
    for a, b in itertools.combinations(knobs, 2):
        joint = float(d.groupby([a, b], observed=True)["_y"].mean().var(ddof=0))
        rows.append({"metric": metric, "pair": f"{a} x {b}", "share": (joint - main[a] - main[b]) / total})
    return pd.DataFrame(rows).sort_values("share", ascending=False).head(top).reset_index(drop=True)


def dataflow_summary(frame: pd.DataFrame, front: TrueFront, knobs: Sequence[str]) -> pd.DataFrame:
    """Per dataflow: points, points on the exact front, and its best energy, latency and EDP
    relative to the table's best (1 = this dataflow holds the table's optimum)."""
    e, lat = front.objectives
    on = front.contains(frame, knobs)
    best = {c: float(frame[c].min()) for c in (e, lat, "edp")}
    rows = []
    for df_name, g in frame.groupby("dataflow", sort=False, observed=True):
        idx = g.index
        rows.append({"dataflow": df_name, "points": len(g), "on_front": int(on[frame.index.get_indexer(idx)].sum()),
                     f"best_{e}_rel": float(g[e].min()) / best[e],
                     f"best_{lat}_rel": float(g[lat].min()) / best[lat],
                     "best_edp_rel": float(g["edp"].min()) / best["edp"]})
    return pd.DataFrame(rows)


def front_table(frame: pd.DataFrame, front: TrueFront, knobs: Sequence[str]) -> pd.DataFrame:
    """The exact front's designs (varied knobs and the two objectives, EDP, area)."""
    cols = [*varied_knobs(frame, knobs), *front.objectives, "edp", "area_mm2"]
    return front.front[cols].reset_index(drop=True)
