"""Pareto fronts and hypervolumes of minimized objectives, generic over any result table.

Conventions: every objective is **minimized**; a point set is an ``(n, m)`` array (or the
objective columns of a DataFrame). BoTorch's utilities (which maximize) do the work:
:func:`botorch.utils.multi_objective.pareto.is_non_dominated` for fronts and
:class:`botorch.utils.multi_objective.box_decompositions.dominated.DominatedPartitioning`
for hypervolumes; we negate on the way in.

Objectives spanning orders of magnitude (energy in pJ, latency in cycles) are compared on a
:class:`Normalizer`: ``log10`` of each objective (by default), scaled to [0, 1] between the
exact front's ideal and nadir points (``bounds="front"``, the default; ``"table"`` uses the
whole table's minimum and maximum), with the reference point at ``ref`` (1.1 by default) in
every normalized coordinate, i.e. a little worse than the front's nadir. A searcher's *hypervolume ratio* is the hypervolume dominated by the
points it has evaluated divided by the hypervolume of the table's exact Pareto front, so it
lies in [0, 1] and equals 1 exactly when it has found the whole front (or points that dominate
the same region).

BoTorch runs on torch's intra-op thread pool; on a busy machine call these inside
``archlab.core.runtime.limit_threads(1)`` (as the accel_space study does): a 200-point front
then takes milliseconds instead of a contended fraction of a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


def _torch(y: np.ndarray):
    import torch

    return torch.as_tensor(np.asarray(y, dtype=np.float64))


def _as_array(points: np.ndarray | pd.DataFrame, objectives: Sequence[str] | None = None) -> np.ndarray:
    if isinstance(points, pd.DataFrame):
        if objectives is None:
            raise ValueError("a DataFrame needs the objective column names")
        missing = [o for o in objectives if o not in points.columns]
        if missing:
            raise KeyError(f"objective column(s) {missing} missing; have {list(points.columns)}")
        y = points[list(objectives)].to_numpy(np.float64)
    else:
        y = np.asarray(points, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"points must be 2-D (n, m), got shape {y.shape}")
    return y


def pareto_mask(points: np.ndarray | pd.DataFrame, objectives: Sequence[str] | None = None) -> np.ndarray:
    """Boolean mask of the non-dominated rows (minimization). Duplicated front points are all
    kept; rows with a NaN objective are never on the front."""
    from botorch.utils.multi_objective.pareto import is_non_dominated

    y = _as_array(points, objectives)
    out = np.zeros(len(y), dtype=bool)
    ok = np.isfinite(y).all(axis=1)
    if ok.any():
        out[np.flatnonzero(ok)] = is_non_dominated(-_torch(y[ok]), deduplicate=False).numpy()
    return out


def pareto_front(frame: pd.DataFrame, objectives: Sequence[str]) -> pd.DataFrame:
    """The non-dominated rows of ``frame``, sorted by the first objective."""
    return frame[pareto_mask(frame, objectives)].sort_values(list(objectives)).copy()


@dataclass(frozen=True)
class Normalizer:
    """Maps objective values to [0, 1] (``log10`` first when ``log``), from the table's bounds."""

    lo: np.ndarray
    hi: np.ndarray
    log: bool = True
    ref: float = 1.1

    @classmethod
    def fit(cls, points: np.ndarray | pd.DataFrame, objectives: Sequence[str] | None = None, *,
            log: bool = True, ref: float = 1.1) -> Normalizer:
        y = _as_array(points, objectives)
        y = y[np.isfinite(y).all(axis=1)]
        if len(y) == 0:
            raise ValueError("no finite points to fit the normalizer")
        if log:
            if (y <= 0).any():
                raise ValueError("log normalization needs positive objective values")
            y = np.log10(y)
        lo, hi = y.min(axis=0), y.max(axis=0)
        return cls(lo=lo, hi=np.where(hi > lo, hi, lo + 1.0), log=log, ref=float(ref))

    def __call__(self, points: np.ndarray | pd.DataFrame, objectives: Sequence[str] | None = None) -> np.ndarray:
        y = _as_array(points, objectives)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                y = np.log10(y)
        return (y - self.lo) / (self.hi - self.lo)


def hypervolume(points: np.ndarray, ref: float | Sequence[float]) -> float:
    """Hypervolume dominated by ``points`` (minimized, already normalized) up to ``ref``.
    Points not strictly better than ``ref`` in every coordinate contribute nothing."""
    from botorch.utils.multi_objective.box_decompositions.dominated import DominatedPartitioning

    y = np.asarray(points, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"points must be 2-D (n, m), got shape {y.shape}")
    r = np.broadcast_to(np.asarray(ref, dtype=np.float64), (y.shape[1],)).copy()
    y = y[np.isfinite(y).all(axis=1)]
    y = y[(y < r).all(axis=1)]
    if len(y) == 0:
        return 0.0
    part = DominatedPartitioning(ref_point=-_torch(r), Y=-_torch(y))
    return float(part.compute_hypervolume())


@dataclass(frozen=True)
class TrueFront:
    """A table's exact Pareto front in normalized coordinates and its hypervolume."""

    objectives: tuple[str, ...]
    norm: Normalizer
    front: pd.DataFrame
    hv: float

    @classmethod
    def of(cls, table: pd.DataFrame, objectives: Sequence[str], *, log: bool = True, ref: float = 1.1,
           bounds: str = "front") -> TrueFront:
        """``bounds="front"``: normalize by the exact front's ideal and nadir point (the usual
        convention: only the region up to ``ref`` x the front's extent counts, so a ratio
        discriminates near the front); ``"table"``: by the whole table's minimum and maximum."""
        objectives = tuple(objectives)
        front = pareto_front(table, objectives)
        if bounds not in ("front", "table"):
            raise ValueError(f"bounds {bounds!r}: allowed front, table")
        norm = Normalizer.fit(front if bounds == "front" else table, objectives, log=log, ref=ref)
        return cls(objectives, norm, front, hypervolume(norm(front, objectives), norm.ref))

    def ratio(self, found: np.ndarray | pd.DataFrame) -> float:
        """Hypervolume of ``found`` (raw objective values or a frame with the objective columns)
        over the true front's, in [0, 1]."""
        y = self.norm(found, self.objectives) if isinstance(found, pd.DataFrame) else self.norm(found)
        return hypervolume(y, self.norm.ref) / self.hv if self.hv > 0 else float("nan")

    def ratio_curve(self, trace: np.ndarray | pd.DataFrame, budgets: Sequence[int]) -> np.ndarray:
        """Hypervolume ratio of the first ``b`` evaluations of ``trace`` (in evaluation order)
        for each ``b`` in ``budgets`` (budgets beyond the trace use the whole trace)."""
        y = _as_array(trace, self.objectives)
        return np.array([self.ratio(y[: int(b)]) for b in budgets])

    def contains(self, table: pd.DataFrame, knobs: Sequence[str]) -> np.ndarray:
        """Mask over ``table`` rows: is the row's configuration on the true front."""
        keys = set(map(tuple, self.front[list(knobs)].astype(str).to_numpy()))
        return np.array([tuple(r) in keys for r in table[list(knobs)].astype(str).to_numpy()])
