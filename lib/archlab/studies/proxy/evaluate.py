"""Fit proxy regressors and measure them: accuracy on held-out configurations and
workloads, and evaluations per second of proxy versus simulator.

Every model predicts one metric from :class:`archlab.problems.proxy.FeatureEncoder` features.
Targets are learned in log space when positive (metrics span orders of magnitude across
configurations, and relative error is what matters), then standardized.

Error measures (all on the metric's own scale, after the inverse transform):
``rmse`` (in the metric's unit), ``nrmse_pct`` (RMSE / mean of the true values, the
"RMSE in %" that ArchGym's proxy case study quotes), ``mape_pct`` (mean absolute
relative error), ``p95_ape_pct`` / ``max_ape_pct``, ``r2`` and ``spearman`` (rank
agreement, which is what a searcher running on the proxy needs).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from archlab.core.problem import Problem
from archlab.core.space import Config, Space
from archlab.problems.proxy import KNOB_PREFIX, FeatureEncoder, thread_cap

MODEL_KINDS = ("rf", "gbr", "mlp")
MODEL_LABELS = {"rf": "random forest", "gbr": "gradient boosting", "mlp": "MLP"}


def make_regressor(kind: Literal["rf", "gbr", "mlp"], seed: int = 0, *, log_target: bool = True,
                   rf_trees: int = 200, gbr_iter: int = 300, mlp_hidden: Sequence[int] = (64, 64),
                   mlp_iter: int = 800) -> TransformedTargetRegressor:
    """An unfitted regressor of ``kind`` (random forest, gradient boosting, small MLP)."""
    if kind == "rf":
        model: Any = RandomForestRegressor(n_estimators=rf_trees, min_samples_leaf=1, n_jobs=1,
                                           random_state=seed)
    elif kind == "gbr":
        model = HistGradientBoostingRegressor(max_iter=gbr_iter, learning_rate=0.08,
                                              early_stopping=False, random_state=seed)
    elif kind == "mlp":
        model = make_pipeline(StandardScaler(), MLPRegressor(
            hidden_layer_sizes=tuple(mlp_hidden), max_iter=mlp_iter, learning_rate_init=3e-3,
            alpha=1e-4, early_stopping=False, tol=1e-6, n_iter_no_change=50, random_state=seed))
    else:
        raise ValueError(f"unknown proxy model kind {kind!r}; allowed: {', '.join(MODEL_KINDS)}")
    steps = [("log", FunctionTransformer(np.log, inverse_func=np.exp, check_inverse=False))] if log_target else []
    return TransformedTargetRegressor(regressor=model, transformer=Pipeline([*steps, ("std", StandardScaler())]))


def fit_metrics(kind: str, X: np.ndarray, Y: Mapping[str, np.ndarray], seed: int = 0,
                threads: int | None = 1, **hp: Any) -> dict[str, TransformedTargetRegressor]:
    """One fitted regressor of ``kind`` per metric in ``Y`` (log target when all values > 0).

    ``threads`` caps OpenMP/BLAS threads while fitting (``None`` = library default): on a
    shared 2-core machine gradient boosting's OpenMP threads otherwise oversubscribe badly.
    """
    if len(X) < 2:
        raise ValueError(f"need at least 2 training rows to fit a proxy, got {len(X)}")
    out = {}
    for metric, y in Y.items():
        y = np.asarray(y, dtype=float)
        with warnings.catch_warnings(), thread_cap(threads):  # an MLP at its cap is still a valid model
            warnings.simplefilter("ignore", ConvergenceWarning)
            out[metric] = make_regressor(kind, seed, log_target=bool(np.all(y > 0)), **hp).fit(X, y)
    return out


def errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Error measures of predictions (see the module docstring)."""
    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if t.shape != p.shape or t.size == 0:
        raise ValueError(f"need equal, non-empty arrays; got {t.shape} and {p.shape}")
    rmse = float(np.sqrt(np.mean((p - t) ** 2)))
    denom = np.where(t != 0, np.abs(t), np.nan)
    ape = np.abs(p - t) / denom * 100.0
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    rho = spearmanr(t, p).statistic if t.size > 2 and np.ptp(t) > 0 and np.ptp(p) > 0 else np.nan
    return {"rmse": rmse, "nrmse_pct": 100.0 * rmse / abs(float(t.mean())) if t.mean() else np.nan,
            "mape_pct": float(np.nanmean(ape)), "p95_ape_pct": float(np.nanpercentile(ape, 95)),
            "max_ape_pct": float(np.nanmax(ape)),
            "r2": 1.0 - float(np.sum((p - t) ** 2)) / ss_tot if ss_tot > 0 else np.nan,
            "spearman": float(rho)}


# ---------------------------------------------------------------- data preparation

def knob_columns(space: Space) -> list[str]:
    return [f"{KNOB_PREFIX}{n}" for n in space.names]


def evaluation_frame(configs: Sequence[Config], metrics: Sequence[Mapping[str, float]],
                     **const: Any) -> pd.DataFrame:
    """Store-shaped frame (``knob.*`` + metric columns + constant columns) of evaluations."""
    rows = [{**const, **{f"{KNOB_PREFIX}{k}": v for k, v in c.items()}, **m} for c, m in zip(configs, metrics)]
    return pd.DataFrame(rows)


def distinct_evaluations(df: pd.DataFrame, space: Space, metrics: Sequence[str], *,
                         by: Sequence[str] = ("workload",), cap: int | None = None,
                         seed: int = 0, keep: Sequence[str] = ()) -> pd.DataFrame:
    """One row per (``by``, configuration): duplicates (searchers revisit configurations)
    would leak between train and test splits. Adds ``config_key`` and ``n_logged``; drops rows
    with a missing or non-finite metric; keeps at most ``cap`` distinct configs per group
    (a seeded random subset). ``keep`` names extra columns to carry (first row's value)."""
    missing = [c for c in [*by, *knob_columns(space), *metrics, *keep] if c not in df.columns]
    if missing:
        raise KeyError(f"evaluation frame lacks column(s) {missing}; has {list(df.columns)}")
    kc = knob_columns(space)
    d = df[[*by, *kc, *metrics, *keep]].copy()
    vals = d[list(metrics)].apply(pd.to_numeric, errors="coerce")
    d = d[np.isfinite(vals.to_numpy(dtype=float)).all(axis=1)]
    d["config_key"] = d[kc].astype(str).agg("|".join, axis=1)
    keys = [*by, "config_key"]
    counts = d.groupby(keys, sort=False).size().rename("n_logged")
    d = d.drop_duplicates(keys).merge(counts, on=keys)
    if cap is not None:
        rng = np.random.default_rng(seed)
        parts = [g.iloc[np.sort(rng.permutation(len(g))[:cap])] for _, g in d.groupby(list(by), sort=True)]
        d = pd.concat(parts) if parts else d
    return d.reset_index(drop=True)


def split_by_config(keys: Sequence[str], test_fraction: float, seed: int = 0) -> np.ndarray:
    """Boolean test mask: a seeded ``test_fraction`` of the distinct keys (never both sides)."""
    uniq = np.array(sorted(set(keys)))
    if len(uniq) < 2:
        raise ValueError(f"need at least 2 distinct configurations to split, got {len(uniq)}")
    rng = np.random.default_rng(seed)
    n_test = min(len(uniq) - 1, max(1, int(round(test_fraction * len(uniq)))))
    test = set(uniq[rng.permutation(len(uniq))[:n_test]])
    return np.array([k in test for k in keys])


# ---------------------------------------------------------------- accuracy studies

def _predict(models: Mapping[str, Any], X: np.ndarray) -> dict[str, np.ndarray]:
    return {m: np.asarray(r.predict(X), dtype=float) for m, r in models.items()}


def _records(pred: Mapping[str, np.ndarray], truth: pd.DataFrame, **labels: Any) -> tuple[list, list]:
    err_rows, pred_rows = [], []
    for metric, p in pred.items():
        t = truth[metric].to_numpy(dtype=float)
        err_rows.append({**labels, "metric": metric, "n_test": len(t), **errors(t, p)})
        pred_rows.append(pd.DataFrame({**labels, "metric": metric, "simulated": t, "predicted": p}))
    return err_rows, pred_rows


def heldout_config_accuracy(logged: pd.DataFrame, space: Space, metrics: Sequence[str],
                            kinds: Iterable[str], *, test_fraction: float, seed: int = 0,
                            extra_train: pd.DataFrame | None = None,
                            extra_test: pd.DataFrame | None = None,
                            **hp: Any) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per workload: hold out ``test_fraction`` of the distinct logged configurations, fit
    each model kind on the rest (plus ``extra_train`` rows of that workload, e.g. uniform
    random simulations), test on the held-out logged configs (``test_set = "logged"``) and
    on ``extra_test`` rows not seen in training (``"uniform"``: distribution shift).

    Returns (error table, predicted-vs-simulated table, ``{(workload, kind): models}``).
    """
    enc = FeatureEncoder(space)
    err_rows: list = []
    pred_frames: list = []
    fitted: dict = {}
    for i, (workload, g) in enumerate(logged.groupby("workload", sort=True)):
        mask = split_by_config(g["config_key"].tolist(), test_fraction, seed + i)
        train, test = g[~mask], g[mask]
        if extra_train is not None:
            extra = extra_train[extra_train["workload"] == workload]
            train = pd.concat([train, extra[~extra["config_key"].isin(test["config_key"])]])
            train = train.drop_duplicates("config_key")
        tests = {"logged": test}
        if extra_test is not None:
            u = extra_test[extra_test["workload"] == workload]
            tests["uniform"] = u[~u["config_key"].isin(train["config_key"])]
        X = enc.transform_frame(train)
        for kind in kinds:
            models = fit_metrics(kind, X, {m: train[m].to_numpy(dtype=float) for m in metrics}, seed, **hp)
            fitted[(workload, kind)] = models
            for name, t in tests.items():
                if len(t) == 0:
                    continue
                e, p = _records(_predict(models, enc.transform_frame(t)), t, workload=workload, model=kind,
                                test_set=name, n_train=len(train))
                err_rows += e
                pred_frames += p
    return pd.DataFrame(err_rows), pd.concat(pred_frames, ignore_index=True), fitted


def heldout_workload_accuracy(logged: pd.DataFrame, space: Space, metrics: Sequence[str],
                              kinds: Iterable[str], *, seed: int = 0, **hp: Any) -> pd.DataFrame:
    """Leave one workload out: fit on every other workload's evaluations (configuration
    features only, as a proxy of an unseen trace would have to), test on the held-out one."""
    enc = FeatureEncoder(space)
    workloads = sorted(logged["workload"].unique())
    if len(workloads) < 2:
        raise ValueError(f"a held-out workload test needs >= 2 workloads, got {workloads}")
    rows: list = []
    for w in workloads:
        train, test = logged[logged["workload"] != w], logged[logged["workload"] == w]
        X = enc.transform_frame(train)
        for kind in kinds:
            models = fit_metrics(kind, X, {m: train[m].to_numpy(dtype=float) for m in metrics}, seed, **hp)
            e, _ = _records(_predict(models, enc.transform_frame(test)), test, workload=w, model=kind,
                            test_set="heldout_workload", n_train=len(train))
            rows += e
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- speed

def evals_per_second(problem: Problem | Callable[[], Problem], configs: Sequence[Config], *,
                     repeats: int = 3, batched: bool = True) -> float:
    """Best-of-``repeats`` evaluations per second on ``configs`` (one ``evaluate_many`` call
    when ``batched``, else one ``evaluate`` per config).

    ``problem`` may be a factory (a zero-argument callable): a fresh instance is built,
    untimed, before every repeat, so a problem that memoizes results (the DRAM simulator
    does) is timed on real work rather than on cache hits.
    """
    if not configs:
        raise ValueError("need at least one configuration to time")
    factory = problem if _is_factory(problem) else None
    best = np.inf
    for _ in range(repeats):
        prob = factory() if factory else problem
        t0 = time.perf_counter()
        if batched:
            prob.evaluate_many(configs)
        else:
            for c in configs:
                prob.evaluate(c)
        best = min(best, time.perf_counter() - t0)
    return len(configs) / max(best, 1e-12)


def _is_factory(obj: Any) -> bool:
    return isinstance(obj, type) or (callable(obj) and not hasattr(obj, "evaluate_many"))


def speed_table(problems: Mapping[str, Problem | Callable[[], Problem]], configs: Sequence[Config], *,
                repeats: int = 3, single: int = 50) -> pd.DataFrame:
    """Evaluations per second of each problem (or problem factory, see
    :func:`evals_per_second`), batched on ``configs`` and one at a time on the first
    ``single`` of them, measured back to back in this process."""
    rows = []
    for name, prob in problems.items():
        for mode, cs, batched in (("batched", configs, True), ("single", configs[:single], False)):
            eps = evals_per_second(prob, cs, repeats=repeats, batched=batched)
            rows.append({"problem": name, "mode": mode, "n": len(cs), "evals_per_s": eps,
                         "us_per_eval": 1e6 / eps})
    return pd.DataFrame(rows)
