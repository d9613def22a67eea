"""The proxy measured against exact tables (every distinct configuration of a trace simulated).

A table row is one simulator-distinct configuration (:func:`archlab.problems.dram.table.table_key`),
so deduplication is exact: a training row never has a simulator-identical twin among the test
rows. Every test below uses the *whole* rest of the space as its test set.

* :func:`learning_curve`: train on ``n`` simulations drawn like uniform random search (raw
  points, duplicates dropped), test on every other row: nRMSE %, mean |relative error|,
  Spearman, R^2.
* :func:`heldout_traces`: leave one trace out, train on the others (log metric standardized
  per trace, so traces of different speed pool), rank the held-out trace's whole space.
* :func:`search_cost`: search with the training counted. The target is the exact value that
  uniform random search meets within ``budget`` simulations with probability ``p0``; the proxy
  is trained on ``n_train`` simulations drawn from the configurations that do *not* meet it
  (conservative for the proxy: a real pipeline could meet the target by luck while training);
  then configurations are simulated in the proxy's predicted order until one meets the target.
  Cost = ``n_train`` + candidates simulated. Random search needs a geometric number of
  simulations with success probability = the target's exact tail share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from archlab.core import paths
from archlab.problems.proxy import FeatureEncoder
from archlab.problems.table import Table, TableError, load_table
from archlab.studies.proxy.evaluate import errors, fit_metrics


def load_tables(names: Sequence[str], build_here: bool = False, build_requests: int = 200,
                build_limit: int | None = None) -> dict[str, Table]:
    """Tables by workload name (``dram/<name>``, from ``data/dram_tables``). With
    ``build_here`` (smoke tests), ``dram/<trace>`` names a trace whose small table (first
    ``build_requests`` requests, ``build_limit`` configurations) is built in the cache."""
    out = {}
    for name in names:
        if not build_here:
            out[name] = load_table(name)
            continue
        from archlab.problems.dram.table import build_table

        kind, _, trace = name.partition("/")
        if kind != "dram":
            raise TableError(f"build_here builds DRAM tables only, got {name!r}")
        path = build_table(trace, n_requests=build_requests, limit=build_limit, workers=1, progress=False,
                           out_dir=paths.cache_dir("proxy_tables"))
        out[name] = load_table(path)
    first = next(iter(out.values()))
    for name, t in out.items():
        if t.space.names != first.space.names or not np.array_equal(t.codes, first.codes):
            raise ValueError(f"table {name!r} lists other configurations (or another order) than "
                             f"{next(iter(out))!r}; the proxy study needs tables of one space")
    return out


def features(table: Table) -> np.ndarray:
    """Proxy features of every row (:class:`~archlab.problems.proxy.FeatureEncoder`)."""
    return FeatureEncoder(table.space).transform_columns(table.frame)


def weighted_sample(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct rows drawn as uniform random search over the raw space draws them,
    duplicates dropped: successive sampling without replacement with probabilities
    proportional to ``weights`` (Efraimidis-Spirakis keys). Rows of weight 0 are never drawn."""
    w = np.asarray(weights, dtype=float)
    ok = np.flatnonzero(w > 0)
    if n > len(ok):
        raise ValueError(f"cannot draw {n} distinct rows from {len(ok)} with positive weight")
    keys = np.log(rng.random(len(ok))) / w[ok]
    top = np.argpartition(-keys, n - 1)[:n]
    return np.sort(ok[top])


def _hp(P: Any) -> dict[str, Any]:
    return {"rf_trees": P.rf_trees, "gbr_iter": P.gbr_iter, "mlp_hidden": tuple(P.mlp_hidden),
            "mlp_iter": P.mlp_iter}


def learning_curve(tables: Mapping[str, Table], X: np.ndarray, P: Any, seed: int) -> pd.DataFrame:
    """Error over the whole rest of each table's space vs the number of training simulations."""
    rows = []
    for ti, (name, t) in enumerate(tables.items()):
        for rep in range(P.repeats):
            for n in P.train_sizes:
                rng = np.random.default_rng([seed, ti, rep, n])
                train = weighted_sample(t.weights, min(n, len(t) - 1), rng)
                test = np.ones(len(t), dtype=bool)
                test[train] = False
                Y = {m: t.column(m)[train] for m in P.metrics}
                for kind in P.models:
                    models = fit_metrics(kind, X[train], Y, seed=seed + rep, **_hp(P))
                    for m, model in models.items():
                        e = errors(t.column(m)[test], model.predict(X[test]))
                        rows.append({"table": name, "model": kind, "metric": m, "n_train": len(train),
                                     "repeat": rep, "n_test": int(test.sum()), **e})
    return pd.DataFrame(rows)


def _standardized_log(y: np.ndarray) -> np.ndarray:
    ly = np.log(y)
    sd = ly.std()
    return (ly - ly.mean()) / (sd if sd > 0 else 1.0)


def heldout_traces(tables: Mapping[str, Table], X: np.ndarray, P: Any, seed: int) -> pd.DataFrame:
    """Leave-one-trace-out Spearman over the held-out trace's whole space."""
    H = P.heldout
    names = list(tables)
    rows = []
    if len(names) < 2:
        return pd.DataFrame(columns=["held_out", "trained_on", "n_train", "spearman", "n_test"])
    for hi, held in enumerate(names):
        Xs, ys = [], []
        for ti, name in enumerate(names):
            if name == held:
                continue
            t = tables[name]
            tr = weighted_sample(t.weights, min(H.n_train, len(t)), np.random.default_rng([seed, 7, hi, ti]))
            Xs.append(X[tr])
            ys.append(_standardized_log(t.column(H.metric)[tr]))
        model = fit_metrics(H.model, np.concatenate(Xs), {"z": np.concatenate(ys)}, seed=seed, **_hp(P))["z"]
        truth = tables[held].column(H.metric)
        rho = float(spearmanr(truth, model.predict(X)).statistic)
        rows.append({"held_out": held, "trained_on": ", ".join(n for n in names if n != held),
                     "n_train": int(sum(len(x) for x in Xs)), "spearman": rho, "n_test": len(truth)})
    return pd.DataFrame(rows)


def random_search_simulations(share: float) -> tuple[float, float]:
    """(median, mean) simulations uniform random search needs to meet a target of tail share
    ``share`` (geometric distribution; median = smallest n with 1 - (1 - s)^n >= 1/2)."""
    if share >= 1.0:
        return 1.0, 1.0
    return float(math.ceil(math.log(0.5) / math.log1p(-share))), 1.0 / share


def search_cost(tables: Mapping[str, Table], X: np.ndarray, P: Any, seed: int) -> pd.DataFrame:
    """One row per (table, training size, seed): simulations the proxy pipeline spent until a
    target-meeting configuration was simulated, and random search's exact counterpart."""
    S = P.search
    rows = []
    for ti, (name, t) in enumerate(tables.items()):
        objs = t.parse_objective(S.objective)
        if len(objs) != 1:
            raise ValueError(f"proxy.search.objective {S.objective!r} must name one metric, got {list(objs)}")
        metric = objs[0]
        d = t.target_for(S.p0, S.budget, metric)
        thr = d.target[metric]
        y = t.column(metric)
        meets = y <= thr
        rand_median, rand_mean = random_search_simulations(d.share)
        for n in S.train_sizes:
            for s in range(S.seeds):
                rng = np.random.default_rng([seed, 11, ti, n, s])
                train = weighted_sample(np.where(meets, 0, t.weights), min(n, int((~meets).sum())), rng)
                model = fit_metrics(S.model, X[train], {metric: y[train]}, seed=seed + s, **_hp(P))[metric]
                cand = np.ones(len(t), dtype=bool)
                cand[train] = False
                idx = np.flatnonzero(cand)
                order = idx[np.argsort(model.predict(X[idx]), kind="stable")]
                hits = np.flatnonzero(meets[order][: S.max_verify])
                hit = len(hits) > 0
                k = int(hits[0]) + 1 if hit else S.max_verify
                total = len(train) + k
                rows.append({"table": name, "n_train": len(train), "seed": s, "target": thr,
                             "target_share": d.share, "target_rows": d.rows, "hit": hit, "verified": k,
                             "simulations": total, "random_median": rand_median, "random_mean": rand_mean,
                             "speedup_vs_median": rand_median / total,
                             "p_random_not_yet": float((1 - d.share) ** total)})
    return pd.DataFrame(rows)
