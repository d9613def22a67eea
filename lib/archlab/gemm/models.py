"""ML models of GEMM runtime and power, and their evaluation under two protocols.

* :class:`GPPerfForest`: GPPerf's baseline as published (features m, n, k, three
  block sizes, FLOPs, bytes, arithmetic intensity; 1st-99th percentile clipping of every
  feature and target over ALL rows before splitting; StandardScaler; multi-output random
  forest, 100 trees, depth 6).
* :class:`AnalyticalBoost`: gradient boosting on the log of measured / analytical runtime
  (:mod:`archlab.gemm.analytical` features), and on log power; energy and throughput follow
  from runtime and power (energy = power x runtime, GFLOP/s = FLOPs / runtime).

:func:`evaluate` reports R^2, mean and median absolute percentage error per target under
the ``random`` row split (GPPerf's protocol: the same shape appears in train and test) or
``shape`` (grouped K-fold: every GEMM shape is predicted by a model that never saw it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.metrics import r2_score
from sklearn.model_selection import GroupKFold, train_test_split
from sklearn.multioutput import MultiOutputRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from archlab.gemm import analytical, schema

GPPERF_FEATURES = ["m", "n", "k", "blocksize1", "blocksize2", "blocksize3",
                   "arithmetic_intensity", "bytes_accessed", "total_flops"]
SPLITS = ("random", "shape")


def available_targets(df: pd.DataFrame, min_rows: int = 10) -> list[str]:
    """Targets with at least ``min_rows`` measured values (power is absent without a sensor)."""
    return [t for t in schema.TARGETS if df[t].notna().sum() >= min_rows]


def gpperf_frame(df: pd.DataFrame) -> pd.DataFrame:
    """GPPerf's features: block sizes are the source's labels where present, else the tile."""
    out = pd.DataFrame(index=df.index)
    out["m"], out["n"], out["k"] = (df[c].to_numpy(float) for c in schema.SHAPE)
    for i, (lab, tile) in enumerate((("label_block_m", "tile_m"), ("label_block_n", "tile_n"),
                                     ("label_block_k", "tile_k")), start=1):
        out[f"blocksize{i}"] = df[lab].fillna(df[tile]).astype("Float64").fillna(0).to_numpy(float)
    out["total_flops"] = 2 * out["m"] * out["n"] * out["k"]
    out["bytes_accessed"] = (out["m"] * out["k"] + out["k"] * out["n"] + out["m"] * out["n"]) * 4
    out["arithmetic_intensity"] = out["total_flops"] / out["bytes_accessed"]
    return out[GPPERF_FEATURES]


def gpperf_preprocess(df: pd.DataFrame, targets: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GPPerf's preprocessing, in their order: clip every feature at its 1st/99th percentile
    over all rows, then per target clip at its percentiles over the rows still present and
    drop rows missing it. Happens before any split (as published)."""
    X = gpperf_frame(df)
    X = X.clip(X.quantile(0.01), X.quantile(0.99), axis=1)
    Y = df[targets].astype(float)
    for t in targets:
        Y[t] = Y[t].clip(Y[t].quantile(0.01), Y[t].quantile(0.99))
        Y = Y.dropna(subset=[t])
    return X.loc[Y.index], Y


@dataclass
class GPPerfForest:
    """GPPerf's multi-output random forest (fit on already-preprocessed X, Y)."""

    seed: int = 0
    n_estimators: int = 100
    max_depth: int = 6
    name: str = "gpperf-rf"
    model: object = field(default=None, repr=False)

    def fit(self, X: pd.DataFrame, Y: pd.DataFrame) -> GPPerfForest:
        rf = RandomForestRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                   random_state=self.seed, n_jobs=1)
        self.model = make_pipeline(StandardScaler(), MultiOutputRegressor(rf)).fit(X, Y)
        self.targets = list(Y.columns)
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(self.model.predict(X), index=X.index, columns=self.targets)

    def importances(self) -> pd.Series:
        est = self.model[-1].estimators_
        imp = np.mean([e.feature_importances_ for e in est], axis=0)
        return pd.Series(imp, index=GPPERF_FEATURES).sort_values(ascending=False)


@dataclass
class AnalyticalBoost:
    """Gradient boosting on log(runtime / analytical runtime) and log(power)."""

    seed: int = 0
    n_estimators: int = 300
    max_depth: int = 3
    learning_rate: float = 0.05
    name: str = "analytical-gbm"
    models: dict = field(default_factory=dict, repr=False)

    def _gbm(self) -> GradientBoostingRegressor:
        return GradientBoostingRegressor(n_estimators=self.n_estimators, max_depth=self.max_depth,
                                         learning_rate=self.learning_rate, subsample=0.8,
                                         loss="huber", random_state=self.seed)

    def fit(self, df: pd.DataFrame, targets: list[str]) -> AnalyticalBoost:
        F = analytical.features(df)
        self.features_ = list(F.columns)
        self.targets = targets
        self.models = {"runtime_ms": self._gbm().fit(
            F, np.log(df["runtime_ms"].to_numpy(float)) - F["log_model_ms"].to_numpy())}
        if any(t in targets for t in ("power_w", "energy_j")):
            self.models["power_w"] = self._gbm().fit(F, np.log(df["power_w"].to_numpy(float)))
        return self

    def predict(self, df: pd.DataFrame) -> pd.DataFrame:
        F = analytical.features(df)
        rt = np.exp(self.models["runtime_ms"].predict(F) + F["log_model_ms"].to_numpy())
        out = {"runtime_ms": rt, "gflops": schema.flops(df) / (rt * 1e6)}
        if "power_w" in self.models:
            p = np.exp(self.models["power_w"].predict(F))
            out |= {"power_w": p, "energy_j": p * rt / 1e3}
        return pd.DataFrame(out, index=df.index)[self.targets]

    def importances(self, target: str = "runtime_ms") -> pd.Series:
        return pd.Series(self.models[target].feature_importances_,
                         index=self.features_).sort_values(ascending=False)


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """R^2, mean and median absolute percentage error (in %)."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    ape = np.abs(y_pred - y_true) / np.abs(y_true) * 100
    return {"r2": float(r2_score(y_true, y_pred)), "mean_ape": float(np.mean(ape)),
            "median_ape": float(np.median(ape))}


def _folds(df: pd.DataFrame, split: str, seed: int, folds: int, test_size: float):
    idx = np.arange(len(df))
    if split == "random":
        tr, te = train_test_split(idx, test_size=test_size, random_state=seed)
        return [(tr, te)]
    if split == "shape":
        groups = schema.shape_key(df).to_numpy()
        n = len(np.unique(groups)) if folds == 0 else min(folds, len(np.unique(groups)))
        if n < 2:
            raise ValueError(f"held-out-shape evaluation needs >= 2 distinct shapes, got {n}")
        return list(GroupKFold(n_splits=n, shuffle=True, random_state=seed).split(idx, groups=groups))
    raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")


@dataclass
class Evaluation:
    """Per-target metrics and out-of-fold predictions of one (model, split) run."""

    metrics: pd.DataFrame
    predictions: pd.DataFrame
    importances: pd.Series | None = None


def evaluate(df: pd.DataFrame, split: str, model: str = "analytical-gbm", seed: int = 0,
             folds: int = 5, test_size: float = 0.2, targets: list[str] | None = None,
             **hp) -> Evaluation:
    """Fit and score ``model`` (``gpperf-rf`` or ``analytical-gbm``) under ``split``.

    Rows missing any of ``targets`` (default: every available target) are dropped first.
    Metrics pool the out-of-fold predictions; ``r2_fold_mean`` / ``r2_fold_sd`` summarize the
    folds (one fold for ``random``); ``folds=0`` means leave-one-shape-out. The baseline is scored against its clipped targets, as
    published; the analytical model against the raw measurements.
    """
    targets = targets or available_targets(df)
    if not targets:
        raise ValueError("no target has enough measured values")
    if model == "gpperf-rf":
        X, Y = gpperf_preprocess(df, targets)
        X, Y = X.reset_index(drop=True), Y.reset_index(drop=True)
        d = df.dropna(subset=targets).reset_index(drop=True)
    elif model == "analytical-gbm":
        d = df.dropna(subset=targets).reset_index(drop=True)
        Y = d[targets].astype(float)
    else:
        raise ValueError(f"unknown model {model!r}; allowed: gpperf-rf, analytical-gbm")
    preds, fold_r2, imps = [], [], []
    for f, (tr, te) in enumerate(_folds(d, split, seed, folds, test_size)):
        if model == "gpperf-rf":
            m = GPPerfForest(seed=seed, **hp).fit(X.iloc[tr], Y.iloc[tr])
            P = m.predict(X.iloc[te])
        else:
            m = AnalyticalBoost(seed=seed, **hp).fit(d.iloc[tr], targets)
            P = m.predict(d.iloc[te])
        imps.append(m.importances())
        fold_r2.append({t: r2_score(Y.iloc[te][t], P[t]) if len(te) > 1 else np.nan for t in targets})
        for t in targets:
            preds.append(pd.DataFrame({"row": te, "fold": f, "target": t, "y_true": Y.iloc[te][t].to_numpy(),
                                       "y_pred": P[t].to_numpy(), "shape": schema.shape_key(d.iloc[te]).to_numpy()}))
    pred = pd.concat(preds, ignore_index=True)
    pred.insert(0, "split", split)
    pred.insert(0, "model", model)
    rows = []
    fr = pd.DataFrame(fold_r2)
    for t in targets:
        p = pred[pred["target"] == t]
        rows.append({"model": model, "split": split, "target": t, **scores(p["y_true"], p["y_pred"]),
                     "r2_fold_mean": float(fr[t].mean()), "r2_fold_sd": float(fr[t].std(ddof=0)),
                     "n_rows": len(p), "n_shapes": int(p["shape"].nunique())})
    imp = pd.concat(imps, axis=1).mean(axis=1).sort_values(ascending=False)
    return Evaluation(pd.DataFrame(rows), pred, imp)


def compare(df: pd.DataFrame, splits=SPLITS, models=("gpperf-rf", "analytical-gbm"), seed: int = 0,
            folds: int = 5, hp: dict | None = None, **kw) -> tuple[pd.DataFrame, dict]:
    """Every (model, split): a metrics table side by side and the evaluations by key."""
    hp = hp or {}
    evs = {(m, s): evaluate(df, s, m, seed=seed, folds=folds, **kw, **hp.get(m, {}))
           for m in models for s in splits}
    return pd.concat([e.metrics for e in evs.values()], ignore_index=True), evs
