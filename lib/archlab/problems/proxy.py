"""Learned proxy problems: any fitted scikit-learn-style regressor wrapped as a Problem.

A :class:`ProxyProblem` has the same ``space``, ``objectives`` and ``target`` as the
simulator it imitates; ``evaluate_many`` encodes the whole batch once
(:class:`FeatureEncoder`) and makes one ``predict`` call per metric, so a searcher can
run on the proxy exactly as on the simulator and its best configurations can then be
re-simulated (the proxy study, :mod:`archlab.studies.proxy`, measures them against exact tables).

Feature encoding (shared by training and prediction): a categorical knob becomes one
0/1 column per choice (``PagePolicy=Open``); an ordinal knob becomes its level index
(``MaxActiveTransactions`` 1, 2, 4, ..., 128 -> 0..7, i.e. log2 for geometric levels);
an integer or real knob keeps its value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from archlab.core.problem import BaseProblem, Metrics
from archlab.core.space import Categorical, Config, Ordinal, Space, SpaceError

KNOB_PREFIX = "knob."


class Regressor(Protocol):
    """What a proxy needs from a fitted model: ``predict(X) -> (n,)``."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...


class FeatureEncoder:
    """Configs of ``space`` -> a float feature matrix (one row per config)."""

    def __init__(self, space: Space) -> None:
        self.space = space
        cols: list[str] = []
        for d in space:
            if isinstance(d, Categorical):
                cols += [f"{d.name}={c}" for c in d.choices]
            else:
                cols.append(d.name)
        self.columns: tuple[str, ...] = tuple(cols)

    @property
    def n_features(self) -> int:
        return len(self.columns)

    def transform(self, configs: Sequence[Config]) -> np.ndarray:
        """Feature matrix of ``configs`` (each validated against the space)."""
        X = np.zeros((len(configs), self.n_features), dtype=float)
        for i, config in enumerate(configs):
            X[i] = self._row(self.space.validate(config))
        return X

    def _row(self, config: Config) -> list[float]:
        row: list[float] = []
        for d in self.space:
            v = config[d.name]
            if isinstance(d, Categorical):
                row += [float(v == c) for c in d.choices]
            elif isinstance(d, Ordinal):
                row.append(float(d.index_of(v)))
            else:
                row.append(float(v))
        return row

    def transform_columns(self, df: pd.DataFrame) -> np.ndarray:
        """Vectorized :meth:`transform` of a frame with one column per knob (a table's knob
        columns, canonical values): the same features, without a Python loop over rows."""
        missing = [n for n in self.space.names if n not in df.columns]
        if missing:
            raise SpaceError(f"frame lacks knob column(s) {missing}; has {list(df.columns)}")
        blocks = []
        for d in self.space:
            col = df[d.name]
            if isinstance(d, Categorical):
                v = col.to_numpy(dtype=object)
                blocks += [(v == c).astype(float) for c in d.choices]
            elif isinstance(d, Ordinal):
                idx = col.map({lv: i for i, lv in enumerate(d.levels)})
                if idx.isna().any():
                    raise SpaceError(f"{d.name}: values {sorted(set(col[idx.isna()]))} not allowed; "
                                     f"allowed: {d.describe()}")
                blocks.append(idx.to_numpy(dtype=float))
            else:
                blocks.append(col.to_numpy(dtype=float))
        return np.stack(blocks, axis=1) if blocks else np.zeros((len(df), 0))

    def configs_from_frame(self, df: pd.DataFrame) -> list[Config]:
        """Configs from a store frame's ``knob.<name>`` columns (missing columns raise)."""
        missing = [f"{KNOB_PREFIX}{n}" for n in self.space.names if f"{KNOB_PREFIX}{n}" not in df]
        if missing:
            raise SpaceError(f"evaluation frame lacks knob column(s) {missing}; has {list(df.columns)}")
        cols = [f"{KNOB_PREFIX}{n}" for n in self.space.names]
        return [plain_config(dict(zip(self.space.names, row))) for row in df[cols].itertuples(index=False)]

    def transform_frame(self, df: pd.DataFrame) -> np.ndarray:
        return self.transform(self.configs_from_frame(df))


def plain_config(config: Mapping[str, Any]) -> Config:
    """numpy scalars -> Python scalars, integral floats -> int (parquet/pandas round trips
    turn ``4`` into ``np.int64(4)`` or ``4.0``; ``index_of`` needs the plain value)."""
    out = {}
    for k, v in config.items():
        v = v.item() if hasattr(v, "item") else v
        out[k] = int(v) if isinstance(v, float) and v.is_integer() else v
    return out


class ProxyProblem(BaseProblem):
    """A Problem whose metrics come from fitted regressors (one per metric).

    ``regressors`` maps metric name -> fitted model with ``predict``; every objective must
    have one. ``target`` (objective -> value, minimized) drives ``reward`` as for the
    simulator; ``None`` means no target (``reward`` then raises, as for any problem
    without one). ``evaluate`` ignores ``seed``: a fitted proxy is deterministic.
    ``threads`` caps native thread pools (OpenMP/BLAS) during ``predict`` (``None`` = no cap):
    a one-row ``HistGradientBoostingRegressor.predict`` on a loaded machine otherwise spends
    most of its time starting OpenMP threads. ``cache=True`` memoizes predictions per
    configuration (searchers revisit configurations; a one-row ``predict`` costs milliseconds):
    off by default so throughput measurements time real predictions.
    """

    def __init__(self, regressors: Mapping[str, Regressor], space: Space,
                 objectives: Sequence[str], target: Mapping[str, float] | None = None,
                 *, name: str = "proxy", threads: int | None = 1, cache: bool = False) -> None:
        if not regressors:
            raise ValueError("ProxyProblem needs at least one regressor")
        for metric, model in regressors.items():
            if not callable(getattr(model, "predict", None)):
                raise TypeError(f"regressor for {metric!r} has no predict(); got {type(model).__name__}")
        missing = [o for o in objectives if o not in regressors]
        if missing:
            raise ValueError(f"objective(s) {missing} have no regressor; have {sorted(regressors)}")
        target = dict(target or {})
        bad = [k for k in target if k not in regressors]
        if bad:
            raise ValueError(f"target metric(s) {bad} have no regressor; have {sorted(regressors)}")
        self.regressors = dict(regressors)
        self.space = space
        self.objectives = tuple(objectives)
        self.target = target
        self.name = name
        self.threads = threads
        self.cache: dict[tuple, Metrics] | None = {} if cache else None
        self.encoder = FeatureEncoder(space)

    @classmethod
    def imitating(cls, problem: Any, regressors: Mapping[str, Regressor], **kw: Any) -> ProxyProblem:
        """A proxy with the space, objectives and target of ``problem``."""
        return cls(regressors, problem.space, problem.objectives, problem.target, **kw)

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:
        return self.evaluate_many([config], seed)[0]

    def evaluate_many(self, configs: Sequence[Config], seed: int = 0) -> list[Metrics]:
        """One encoding of the batch and one ``predict`` call per metric."""
        if len(configs) == 0:
            return []
        if self.cache is None:
            return self._predict_configs(configs)
        keys = [self.space.key(self.space.validate(c)) for c in configs]
        todo = {k: c for k, c in zip(keys, configs) if k not in self.cache}
        if todo:
            self.cache.update(zip(todo, self._predict_configs(list(todo.values()))))
        return [dict(self.cache[k]) for k in keys]

    def _predict_configs(self, configs: Sequence[Config]) -> list[Metrics]:
        preds = self.predict_array(self.encoder.transform(configs))
        names = list(self.regressors)
        return [{m: float(preds[m][i]) for m in names} for i in range(len(configs))]

    def predict_array(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Metric name -> predictions for an already encoded feature matrix."""
        out = {}
        with thread_cap(self.threads):
            for metric, model in self.regressors.items():
                out[metric] = np.asarray(model.predict(X), dtype=float).reshape(-1)
        for metric, y in out.items():
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"regressor for {metric!r} returned {y.shape[0]} values for {X.shape[0]} rows")
        return out

    def restricted(self, metrics: Sequence[str]) -> ProxyProblem:
        """The same proxy predicting only ``metrics`` (e.g. just the objectives, for search)."""
        missing = [m for m in metrics if m not in self.regressors]
        if missing:
            raise ValueError(f"no regressor for {missing}; have {sorted(self.regressors)}")
        return ProxyProblem({m: self.regressors[m] for m in metrics}, self.space, self.objectives,
                            {k: v for k, v in self.target.items() if k in metrics}, name=self.name,
                            threads=self.threads, cache=self.cache is not None)

    def describe(self) -> dict[str, Any]:
        models = {m: {"class": type(r).__name__, "params": _params_digest(r)}
                  for m, r in self.regressors.items()}
        return {**super().describe(), "name": self.name, "regressors": models,
                "features": list(self.encoder.columns)}


def thread_cap(threads: int | None) -> Any:
    """Context capping native (OpenMP/BLAS) thread pools; ``None`` = no cap."""
    from archlab.core.runtime import limit_threads

    return limit_threads(threads)


def _params_digest(model: Any) -> str:
    """Short stable digest of a scikit-learn model's parameters (for experiment ids)."""
    get = getattr(model, "get_params", None)
    params = get(deep=False) if callable(get) else {}
    text = json.dumps(params, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:12]
