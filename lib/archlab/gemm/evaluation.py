"""Held-out evaluation of GEMM runtime (and power) predictors, with baselines and CIs.

Predictors share one interface (``fit(rows, features)`` / ``predict(rows, features)`` in
the target's units) and are fitted on training rows only:

* ``analytical``: the analytical model (:mod:`archlab.gemm.analytical`) times one constant,
  the median log ratio of measured to modelled runtime on the training rows;
* ``wave-loglinear``: log runtime = a + b log(wave-quantised work) (see
  :func:`archlab.gemm.analytical.wave_work`), optionally one line per kernel variant;
* ``gpperf-rf``: GPPerf's random forest (their features, 100 trees, depth 6; the
  1st-99th percentile clipping uses the training rows' percentiles);
* ``analytical-gbm``: gradient boosting on log(measured / analytical runtime) whose
  hyperparameters are chosen by grouped cross-validation inside the training shapes.

Protocols: GPPerf's random 80/20 row split (for the reproduction only); grouped K-fold by
shape repeated over several shuffles; leave-one-value-out of M, N or K (the smallest and
largest values included: extrapolation); and a final test set of shapes fixed in params,
sealed by :class:`SealedTest` so it can be read once. Scores: R^2 of log runtime, median and
90th-percentile absolute relative error (%), each with a 95% bootstrap CI over shapes
(:func:`scipy.stats.bootstrap`, resampling shapes, the independent unit).

Rows with identical features carry no extra information for a tree or a line; fits use
one row per distinct feature vector, weighted by its count (the mean target), which is the
same least-squares problem and keeps the repeated evaluation affordable. Every row with a
runtime is scored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import product

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from archlab.gemm import analytical, schema
from archlab.gemm.models import gpperf_frame

MODELS = ("analytical", "wave-loglinear", "gpperf-rf", "analytical-gbm")
BASELINES = ("analytical", "wave-loglinear", "gpperf-rf")
METRICS = ("r2_log", "r2", "median_ape", "p90_ape")
HIGHER_IS_BETTER = {"r2_log": True, "r2": True, "median_ape": False, "p90_ape": False}


# ----------------------------------------------------------------------------- metrics
def _wquantile(x: np.ndarray, w: np.ndarray, q: float) -> float:
    o = np.argsort(x, kind="stable")
    cw = np.cumsum(w[o])
    return float(x[o][np.searchsorted(cw, q * cw[-1], side="left")])


def scores(y: np.ndarray, yhat: np.ndarray, w: np.ndarray | None = None) -> dict[str, float]:
    """R^2 of log values, median and p90 absolute relative error in % (row weights ``w``)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    w = np.ones_like(y) if w is None else np.asarray(w, float)
    keep = w > 0
    y, yhat, w = y[keep], yhat[keep], w[keep]
    ape = np.abs(yhat / y - 1) * 100
    ly, lp = np.log(y), np.log(np.maximum(yhat, 1e-30))

    def r2(a, b):
        ss_tot = np.sum(w * (a - np.average(a, weights=w)) ** 2)
        return float(1 - np.sum(w * (a - b) ** 2) / ss_tot) if ss_tot > 0 else float("nan")

    return {"r2_log": r2(ly, lp), "r2": r2(y, yhat),
            "median_ape": _wquantile(ape, w, 0.5), "p90_ape": _wquantile(ape, w, 0.9)}


# ----------------------------------------------------------------------------- predictors
def _dedupe(X: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """One row per distinct feature vector: mean target and count weight."""
    key = pd.util.hash_pandas_object(X.round(9), index=False).to_numpy()
    g = pd.DataFrame({"k": key, "y": y}).groupby("k", sort=False)["y"].agg(["mean", "count"])
    first = pd.Series(np.arange(len(X))).groupby(key, sort=False).first()
    return X.iloc[first.loc[g.index].to_numpy()], g["mean"].to_numpy(), g["count"].to_numpy(float)


def _target(d: pd.DataFrame, target: str) -> np.ndarray:
    return d[target].to_numpy(float)


@dataclass
class AnalyticalScaled:
    """Analytical runtime x exp(c); c = median log(measured / modelled) on the training rows."""

    target: str = "runtime_ms"
    name: str = "analytical"
    c: float = 0.0

    def fit(self, d: pd.DataFrame, F: pd.DataFrame) -> AnalyticalScaled:
        if self.target != "runtime_ms":
            raise ValueError("the analytical model predicts runtime_ms only")
        self.c = float(np.median(np.log(_target(d, self.target)) - F["log_model_ms"].to_numpy()))
        return self

    def predict(self, d: pd.DataFrame, F: pd.DataFrame) -> np.ndarray:
        return np.exp(F["log_model_ms"].to_numpy() + self.c)


@dataclass
class WaveLogLinear:
    """log runtime = a + b log(wave-quantised work), one line per ``group_cols`` value
    (a global line for groups with fewer than 3 distinct training works)."""

    target: str = "runtime_ms"
    group_cols: tuple[str, ...] = ()
    name: str = "wave-loglinear"
    coef: dict = field(default_factory=dict, repr=False)

    def _groups(self, d: pd.DataFrame) -> pd.Series:
        if not self.group_cols:
            return pd.Series("", index=d.index)
        key = pd.Series("", index=d.index)
        for c in self.group_cols:
            key = key + "|" + d[c].astype("object").where(d[c].notna(), "").astype(str)
        return key

    def fit(self, d: pd.DataFrame, F: pd.DataFrame) -> WaveLogLinear:
        x, y = F["log_wave_work"].to_numpy(), np.log(_target(d, self.target))
        self.coef = {"*": tuple(np.polyfit(x, y, 1))}
        groups = self._groups(d).to_numpy()
        for g in pd.unique(groups):
            i = np.flatnonzero(groups == g)
            if len(np.unique(x[i])) >= 3:
                self.coef[g] = tuple(np.polyfit(x[i], y[i], 1))
        return self

    def predict(self, d: pd.DataFrame, F: pd.DataFrame) -> np.ndarray:
        x = F["log_wave_work"].to_numpy()
        g = self._groups(d).to_numpy()
        b = np.array([self.coef.get(k, self.coef["*"])[0] for k in g])
        a = np.array([self.coef.get(k, self.coef["*"])[1] for k in g])
        return np.exp(a + b * x)


@dataclass
class GPPerfRF:
    """GPPerf's forest: their 9 features, clipped at the training rows' 1st/99th
    percentiles, StandardScaler, random forest (100 trees, depth 6); target clipped likewise."""

    target: str = "runtime_ms"
    seed: int = 0
    n_estimators: int = 100
    max_depth: int = 6
    name: str = "gpperf-rf"

    def fit(self, d: pd.DataFrame, F: pd.DataFrame) -> GPPerfRF:
        X = gpperf_frame(d)
        self.lo_, self.hi_ = X.quantile(0.01), X.quantile(0.99)
        y = _target(d, self.target)
        y = np.clip(y, *np.quantile(y, [0.01, 0.99]))
        Xd, yd, w = _dedupe(X.clip(self.lo_, self.hi_, axis=1), y)
        rf = RandomForestRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                   random_state=self.seed, n_jobs=1)
        self.model_ = make_pipeline(StandardScaler(), rf)
        self.model_.fit(Xd, yd, randomforestregressor__sample_weight=w)
        return self

    def predict(self, d: pd.DataFrame, F: pd.DataFrame) -> np.ndarray:
        return np.maximum(self.model_.predict(gpperf_frame(d).clip(self.lo_, self.hi_, axis=1)), 1e-9)


GBM_FEATURES_DROP = ("log_wave_work",)


@dataclass
class AnalyticalGBM:
    """Gradient boosting on log(runtime / analytical runtime) (runtime) or log(power).

    ``grid`` holds candidate hyperparameters; with more than one, the choice is made by
    grouped ``inner_folds``-fold CV over the training shapes (median relative error)."""

    target: str = "runtime_ms"
    seed: int = 0
    grid: Sequence[dict] = ({"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05},)
    inner_folds: int = 3
    name: str = "analytical-gbm"
    chosen: dict | None = None

    def _xy(self, d, F):
        X = F.drop(columns=list(GBM_FEATURES_DROP))
        off = F["log_model_ms"].to_numpy() if self.target == "runtime_ms" else 0.0
        return X, off

    def _fit_one(self, d, F, hp) -> GradientBoostingRegressor:
        X, off = self._xy(d, F)
        Xd, yd, w = _dedupe(X, np.log(_target(d, self.target)) - off)
        m = GradientBoostingRegressor(subsample=0.8, random_state=self.seed, **hp)
        return m.fit(Xd, yd, sample_weight=w)

    def fit(self, d: pd.DataFrame, F: pd.DataFrame) -> AnalyticalGBM:
        grid = list(self.grid)
        if len(grid) > 1:
            groups = schema.shape_key(d).to_numpy()
            k = min(self.inner_folds, len(np.unique(groups)))
            errs = np.zeros(len(grid))
            for tr, va in GroupKFold(k, shuffle=True, random_state=self.seed).split(d, groups=groups):
                dt, Ft, dv, Fv = d.iloc[tr], F.iloc[tr], d.iloc[va], F.iloc[va]
                for j, hp in enumerate(grid):
                    m = self._fit_one(dt, Ft, hp)
                    X, off = self._xy(dv, Fv)
                    errs[j] += scores(_target(dv, self.target), np.exp(m.predict(X) + off))["median_ape"]
            self.chosen = dict(grid[int(np.argmin(errs))])
        else:
            self.chosen = dict(grid[0])
        self.model_ = self._fit_one(d, F, self.chosen)
        return self

    def predict(self, d: pd.DataFrame, F: pd.DataFrame) -> np.ndarray:
        X, off = self._xy(d, F)
        return np.exp(self.model_.predict(X) + off)


@dataclass
class TrainMedian:
    """The training rows' median (the baseline for power)."""

    target: str = "power_w"
    name: str = "train-median"

    def fit(self, d: pd.DataFrame, F: pd.DataFrame) -> TrainMedian:
        self.m_ = float(np.median(_target(d, self.target)))
        return self

    def predict(self, d: pd.DataFrame, F: pd.DataFrame) -> np.ndarray:
        return np.full(len(d), self.m_)


def factories(target: str = "runtime_ms", seed: int = 0, gbm_grid: Sequence[dict] | None = None,
              inner_folds: int = 3, rf_trees: int = 100, wave_groups: tuple[str, ...] = (),
              models: Sequence[str] | None = None) -> dict[str, Callable[[], object]]:
    """Name -> fresh predictor, for ``target`` (runtime: the four models; power: median,
    forest, boosting)."""
    gbm = {"grid": tuple(gbm_grid)} if gbm_grid else {}
    if target == "runtime_ms":
        f = {"analytical": lambda: AnalyticalScaled(),
             "wave-loglinear": lambda: WaveLogLinear(group_cols=tuple(wave_groups)),
             "gpperf-rf": lambda: GPPerfRF(seed=seed, n_estimators=rf_trees),
             "analytical-gbm": lambda: AnalyticalGBM(seed=seed, inner_folds=inner_folds, **gbm)}
    else:
        f = {"train-median": lambda: TrainMedian(target=target),
             "gpperf-rf": lambda: GPPerfRF(target=target, seed=seed, n_estimators=rf_trees),
             "analytical-gbm": lambda: AnalyticalGBM(target=target, seed=seed, inner_folds=inner_folds, **gbm)}
    if models is not None:
        unknown = sorted(set(models) - set(f))
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; allowed for {target}: {', '.join(f)}")
        f = {k: v for k, v in f.items() if k in models}
    return f


def features(df: pd.DataFrame) -> pd.DataFrame:
    """Analytical features plus log wave-quantised work (computed once per dataset)."""
    F = analytical.features(df)
    F["log_wave_work"] = np.log(analytical.wave_work(df))
    return F


# ----------------------------------------------------------------------------- splits
def grouped_folds(df: pd.DataFrame, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Grouped K-fold by shape (``k = 0``: leave one shape out)."""
    groups = schema.shape_key(df).to_numpy()
    n = len(np.unique(groups))
    k = n if k == 0 else min(k, n)
    if k < 2:
        raise ValueError(f"held-out-shape evaluation needs >= 2 distinct shapes, got {n}")
    return list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(df, groups=groups))


def leave_one_value_out(df: pd.DataFrame, axis: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """(value, train rows, test rows) holding out each value of ``axis`` (M, N or K) in turn."""
    if axis not in schema.SHAPE:
        raise ValueError(f"axis {axis!r}: allowed: {', '.join(schema.SHAPE)}")
    v = df[axis].to_numpy(int)
    out = []
    for val in np.unique(v):
        te = np.flatnonzero(v == val)
        tr = np.flatnonzero(v != val)
        if len(tr) and len(te):
            out.append((int(val), tr, te))
    return out


# ----------------------------------------------------------------------------- protocols
@dataclass
class CV:
    """Out-of-fold predictions of several models over repeated shuffles.

    ``pred[model]`` is an array (shuffles x rows); ``chosen`` lists the hyperparameters the
    boosting model picked per (shuffle, fold)."""

    y: np.ndarray
    shapes: np.ndarray
    pred: dict[str, np.ndarray]
    chosen: list = field(default_factory=list)

    def per_shuffle(self) -> pd.DataFrame:
        rows = []
        for m, P in self.pred.items():
            for s in range(P.shape[0]):
                rows.append({"model": m, "shuffle": s, **scores(self.y, P[s])})
        return pd.DataFrame(rows)


def _fit_predict(fac, d, F, tr, te):
    m = fac().fit(d.iloc[tr], F.iloc[tr])
    return m, m.predict(d.iloc[te], F.iloc[te])


def repeated_grouped_cv(d: pd.DataFrame, F: pd.DataFrame, facs: dict, folds: int, shuffles: int,
                        seed: int, target: str = "runtime_ms") -> CV:
    """Grouped K-fold by shape, repeated over ``shuffles`` seeds (seed, seed+1, ...); every
    model sees the same folds."""
    y = _target(d, target)
    pred = {m: np.full((shuffles, len(d)), np.nan) for m in facs}
    chosen = []
    for s in range(shuffles):
        for f, (tr, te) in enumerate(grouped_folds(d, folds, seed + s)):
            for name, fac in facs.items():
                m, p = _fit_predict(fac, d, F, tr, te)
                pred[name][s, te] = p
                if getattr(m, "chosen", None) is not None:
                    chosen.append({"shuffle": s, "fold": f, **m.chosen})
    return CV(y, schema.shape_key(d).to_numpy(), pred, chosen)


def random_split(d: pd.DataFrame, F: pd.DataFrame, facs: dict, test_size: float, seed: int,
                 target: str = "runtime_ms") -> pd.DataFrame:
    """GPPerf's protocol: one random 80/20 row split (the same shapes in train and test)."""
    tr, te = train_test_split(np.arange(len(d)), test_size=test_size, random_state=seed)
    y = _target(d, target)[te]
    rows = []
    for name, fac in facs.items():
        _, p = _fit_predict(fac, d, F, tr, te)
        rows.append({"model": name, "split": "random", **scores(y, p),
                     "r2": float(r2_score(y, p)), "n_rows": len(te),
                     "n_shapes": int(schema.shape_key(d.iloc[te]).nunique())})
    return pd.DataFrame(rows)


def extrapolation(d: pd.DataFrame, F: pd.DataFrame, facs: dict, axes: Sequence[str] = ("M", "N", "K"),
                  target: str = "runtime_ms") -> tuple[pd.DataFrame, dict[str, CV]]:
    """Leave-one-value-out per axis: a per-value table and, per axis, one CV-like record of
    the pooled predictions (each row predicted by the model that never saw its value)."""
    y = _target(d, target)
    rows, pooled = [], {}
    for axis in axes:
        splits = leave_one_value_out(d, axis)
        if len(splits) < 2:
            continue
        vals = np.unique(d[axis].to_numpy(int))
        pred = {m: np.full((1, len(d)), np.nan) for m in facs}
        for val, tr, te in splits:
            for name, fac in facs.items():
                _, p = _fit_predict(fac, d, F, tr, te)
                pred[name][0, te] = p
                kind = ("extrapolate (largest)" if val == vals.max() else
                        "extrapolate (smallest)" if val == vals.min() else "interpolate")
                rows.append({"axis": axis, "held_out": val, "kind": kind, "model": name,
                             **scores(y[te], p), "n_rows": len(te),
                             "n_shapes": int(schema.shape_key(d.iloc[te]).nunique())})
        pooled[axis] = CV(y, schema.shape_key(d).to_numpy(), pred)
    return pd.DataFrame(rows), pooled


# ----------------------------------------------------------------------------- CIs
class _ShapeScorer:
    """:func:`scores` under per-shape weights, fast: rows pre-sorted by error per
    (model, shuffle) and per-shape sums for R^2, so one bootstrap resample costs a gather
    and a cumulative sum instead of a sort."""

    def __init__(self, y: np.ndarray, P: np.ndarray, codes: np.ndarray, n: int):
        self.codes, self.n = codes, n
        ly = np.log(y)
        self.cnt = np.bincount(codes, minlength=n).astype(float)
        self.sly = np.bincount(codes, ly, minlength=n)
        self.sly2 = np.bincount(codes, ly**2, minlength=n)
        self.sy = np.bincount(codes, y, minlength=n)
        self.sy2 = np.bincount(codes, y**2, minlength=n)
        self.res2, self.lres2, self.ape_sorted, self.codes_sorted = [], [], [], []
        for p in P:
            lp = np.log(np.maximum(p, 1e-30))
            self.lres2.append(np.bincount(codes, (ly - lp) ** 2, minlength=n))
            self.res2.append(np.bincount(codes, (y - p) ** 2, minlength=n))
            ape = np.abs(p / y - 1) * 100
            o = np.argsort(ape, kind="stable")
            self.ape_sorted.append(ape[o])
            self.codes_sorted.append(codes[o])

    def __call__(self, ws: np.ndarray) -> np.ndarray:
        """(shuffles x 4) array of r2_log, r2, median_ape, p90_ape for shape weights ``ws``."""
        W = ws @ self.cnt
        lss = ws @ self.sly2 - (ws @ self.sly) ** 2 / W
        ss = ws @ self.sy2 - (ws @ self.sy) ** 2 / W
        out = np.empty((len(self.res2), 4))
        for s, (lr2, r2, a, c) in enumerate(zip(self.lres2, self.res2, self.ape_sorted, self.codes_sorted,
                                                strict=True)):
            cw = np.cumsum(ws[c])
            out[s, 0] = 1 - (ws @ lr2) / lss if lss > 0 else np.nan
            out[s, 1] = 1 - (ws @ r2) / ss if ss > 0 else np.nan
            out[s, 2] = a[min(np.searchsorted(cw, 0.5 * cw[-1]), len(a) - 1)]
            out[s, 3] = a[min(np.searchsorted(cw, 0.9 * cw[-1]), len(a) - 1)]
        return out


def bootstrap_summary(cv: CV, baselines: Sequence[str] = BASELINES, model: str = "analytical-gbm",
                      n_resamples: int = 1000, seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Per model and metric: the mean over shuffles, the shuffle range, and a 95% bootstrap
    CI over shapes (:func:`scipy.stats.bootstrap`, percentile, shapes resampled). Beside them
    the margin of ``model`` over the best baseline (chosen by its point value, per metric),
    paired on the same resamples; a positive margin means ``model`` is better."""
    codes, uniq = pd.factorize(cv.shapes)
    n = len(uniq)
    names = list(cv.pred)
    scorers = {m: _ShapeScorer(cv.y, cv.pred[m], codes, n) for m in names}
    ones = np.ones(n)
    per = {m: scorers[m](ones) for m in names}  # shuffles x metrics at the observed data
    point = {(m, k): float(per[m][:, j].mean()) for m in names for j, k in enumerate(METRICS)}
    present = [b for b in baselines if b in names]
    margins = []
    if model in names and present:
        for k in METRICS:
            sign = 1.0 if HIGHER_IS_BETTER[k] else -1.0
            margins.append((k, sign, max(present, key=lambda b, k=k, sign=sign: sign * point[(b, k)])))

    def stat(sample):
        ws = np.bincount(sample.astype(int), minlength=n).astype(float)
        vals = {m: scorers[m](ws).mean(axis=0) for m in names}
        out = [vals[m][j] for m in names for j in range(len(METRICS))]
        out += [sign * (vals[model][METRICS.index(k)] - vals[b][METRICS.index(k)]) for k, sign, b in margins]
        return np.array(out)

    if n >= 3:
        res = stats.bootstrap((np.arange(n, dtype=float),), stat, vectorized=False, n_resamples=n_resamples,
                              method="percentile", confidence_level=confidence,
                              random_state=np.random.default_rng(seed))
        lo, hi = np.asarray(res.confidence_interval.low), np.asarray(res.confidence_interval.high)
    else:
        lo = hi = np.full(len(names) * len(METRICS) + len(margins), np.nan)
    rows, i = [], 0
    for m in names:
        for j, k in enumerate(METRICS):
            rows.append({"model": m, "metric": k, "value": point[(m, k)],
                         "shuffle_min": float(per[m][:, j].min()), "shuffle_max": float(per[m][:, j].max()),
                         "ci_low": float(lo[i]), "ci_high": float(hi[i]), "n_shapes": n, "n_rows": len(cv.y),
                         "shuffles": per[m].shape[0]})
            i += 1
    for k, sign, b in margins:
        rows.append({"model": f"margin over {b}", "metric": k,
                     "value": sign * (point[(model, k)] - point[(b, k)]), "shuffle_min": np.nan,
                     "shuffle_max": np.nan, "ci_low": float(lo[i]), "ci_high": float(hi[i]), "n_shapes": n,
                     "n_rows": len(cv.y), "shuffles": per[model].shape[0]})
        i += 1
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- final test
class FinalTestReadTwice(RuntimeError):
    """The sealed final test set was opened a second time."""


class SealedTest:
    """Rows of the final test shapes, readable once, after the models are frozen.

    :func:`split_final` removes them from the development rows before anything is fitted;
    :meth:`open` hands them out exactly once (a second call raises)."""

    def __init__(self, rows: pd.DataFrame, shapes: list[tuple[int, int, int]]):
        self._rows = rows
        self.shapes = shapes
        self.n_rows = len(rows)
        self.opened = False

    def open(self, frozen: dict) -> pd.DataFrame:
        """The test rows; ``frozen`` are the fitted models (must be non-empty: fit first)."""
        if self.opened:
            raise FinalTestReadTwice("the final test set was already read once in this run")
        if not frozen:
            raise RuntimeError("fit and freeze the models on the development shapes before opening the test set")
        self.opened = True
        rows, self._rows = self._rows, None
        return rows


def split_final(df: pd.DataFrame, shapes: Sequence[Sequence[int]]) -> tuple[pd.DataFrame, SealedTest]:
    """(development rows, sealed test rows) for the test ``shapes`` [(M, N, K), ...]."""
    shapes = [tuple(int(x) for x in s) for s in shapes]
    key = set(f"{m}x{n}x{k}" for m, n, k in shapes)
    present = set(schema.shape_key(df))
    missing = sorted(key - present)
    if missing:
        raise ValueError(f"final test shape(s) {missing} not in the data (params gemm test_shapes)")
    is_test = schema.shape_key(df).isin(key).to_numpy()
    return df[~is_test].reset_index(drop=True), SealedTest(df[is_test].reset_index(drop=True), shapes)


def final_test(dev: pd.DataFrame, sealed: SealedTest, facs: dict, target: str = "runtime_ms",
               n_resamples: int = 1000, seed: int = 0, interval_q: float | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every model on all development rows, freeze, open the test set once, score.

    Returns (summary with bootstrap CIs over test shapes and the margin, per-row
    predictions). ``interval_q`` (a log-ratio half-width from development CV) adds a
    prediction interval and its coverage."""
    Fd = features(dev)
    frozen = {name: fac().fit(dev, Fd) for name, fac in facs.items()}
    test = sealed.open(frozen)
    Ft = features(test)
    y = _target(test, target)
    pred = {name: m.predict(test, Ft)[None, :] for name, m in frozen.items()}
    cv = CV(y, schema.shape_key(test).to_numpy(), pred,
            [{"model": n, **m.chosen} for n, m in frozen.items() if getattr(m, "chosen", None)])
    summary = bootstrap_summary(cv, n_resamples=n_resamples, seed=seed)
    rows = pd.DataFrame({"shape": cv.shapes, "y_true": y, **{m: p[0] for m, p in pred.items()}})
    if interval_q is not None and "analytical-gbm" in pred:
        p = pred["analytical-gbm"][0]
        rows["lo"], rows["hi"] = p * np.exp(-interval_q), p * np.exp(interval_q)
        rows["covered"] = (y >= rows["lo"]) & (y <= rows["hi"])
    summary.attrs["chosen"] = cv.chosen
    return summary, rows


def interval_halfwidth(cv: CV, model: str = "analytical-gbm", level: float = 0.9) -> float:
    """The ``level`` quantile of |log(predicted / measured)| over out-of-fold predictions:
    a split-conformal half-width (in log units) for prediction intervals."""
    r = np.abs(np.log(cv.pred[model] / cv.y[None, :])).ravel()
    return float(np.quantile(r[np.isfinite(r)], level))


def gbm_grid(depths: Sequence[int], trees: Sequence[int], learning_rate: float) -> list[dict]:
    """The boosting hyperparameter grid (the product of depths and tree counts)."""
    return [{"n_estimators": int(t), "max_depth": int(dd), "learning_rate": float(learning_rate)}
            for dd, t in product(depths, trees)]
