"""Helpers of the ``accel_space`` notebook: a seeded random sample, its Pareto front and a
one-knob-at-a-time sensitivity sweep around the ``tpu_like`` default point."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from archlab.problems.accel.problem import AccelProblem


def random_sample(problem: AccelProblem, n: int, seed: int) -> pd.DataFrame:
    """``n`` seeded uniform points of the space (plus the default point, row 0), evaluated."""
    rng = np.random.default_rng(seed)
    configs = [problem.space.default(), *problem.space.sample_many(rng, n)]
    metrics = problem.evaluate_many(configs)
    df = pd.DataFrame([{**c, **m} for c, m in zip(configs, metrics)])
    df.insert(0, "workload", problem.workload.name)
    df.insert(1, "is_default", [True] + [False] * n)
    return df


def pareto_mask(x: Sequence[float], y: Sequence[float]) -> np.ndarray:
    """True for points no other point beats in both (minimized) coordinates."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    order = np.lexsort((y, x))
    mask = np.zeros(len(x), bool)
    best = np.inf
    for i in order:
        if y[i] < best:
            mask[i], best = True, y[i]
    return mask


def sensitivity(problem: AccelProblem, knobs: Sequence[str] | None = None) -> pd.DataFrame:
    """Each knob swept over all its values with the others at the default (tpu_like) point.

    One row per (knob, value) with the metrics and their ratio to the default point.
    """
    space = problem.space
    base = space.default()
    knobs = list(space.names if knobs is None else knobs)
    for k in knobs:
        space[k]  # raises SpaceError naming the allowed knobs
    points = [(k, v) for k in knobs for v in space[k].values]
    configs = [base] + [{**base, k: v} for k, v in points]
    metrics = problem.evaluate_many(configs)
    ref = metrics[0]
    rows = []
    for (k, v), m in zip(points, metrics[1:]):
        rows.append({"knob": k, "value": str(v), "is_default": v == base[k], **m,
                     **{f"{o}_rel": m[o] / ref[o] for o in ("energy_pJ", "latency_cycles", "area_mm2")}})
    return pd.DataFrame(rows)


def knob_ranges(sens: pd.DataFrame) -> pd.DataFrame:
    """Per knob: max/min ratio of energy, latency and area over its values (1 = no effect)."""
    g = sens.groupby("knob", sort=False)
    out = pd.DataFrame({f"{o}_range": g[o].max() / g[o].min()
                        for o in ("energy_pJ", "latency_cycles", "area_mm2")})
    return out.sort_values("energy_pJ_range", ascending=False)
