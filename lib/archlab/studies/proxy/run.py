"""The proxy study: is a learned model of the DRAM simulator a substitute for it, once it is
measured over whole spaces and its training simulations are paid for?

``run(P, C) -> Result`` reads exact tables (``data/dram_tables``; every simulator-distinct
configuration of a trace) and computes every number the notebook shows
(:mod:`archlab.studies.proxy.exact`). Claims, each decided by a rule stated in params:

* ``proxy_accuracy``: at the largest training size, the first model's nRMSE % of the first
  metric over the rest of the space is at most ``claims.max_nrmse_pct`` (ArchGym: 0.61%);
  two-stage bootstrap CI: tables, then repeats within a table (:func:`clustered_ci`).
* ``proxy_heldout_trace``: trained on the other traces, the proxy ranks a held-out trace's
  whole space with Spearman at least ``claims.min_spearman``; bootstrap CI over traces.
* ``proxy_search_cost``: with training counted, search on the proxy meets the exact target
  in fewer simulations than random search: geometric mean of random search's median
  simulations / the pipeline's simulations above ``claims.min_speedup``; two-stage bootstrap
  CI (tables, then seeds within a table) at ``search.claim_train`` training simulations.

The repeats and seeds of one table share its trace, target and space, so they are not
independent of each other: the CIs of the first and last claim resample tables first (a run of
the standard profile, 3 repeats and 5 seeds, would otherwise narrow them as if it had 3-5 times
as many traces).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from archlab.analysis.claims import Claim, Result, Verdict, verdict_at_least, verdict_at_most
from archlab.analysis.stats import hierarchical_bootstrap
from archlab.core import paths
from archlab.studies.proxy import exact, figures

STUDY = "proxy"
COMMAND = "dvc repro proxy"


def run(P: Any, C: Any, section: str = STUDY) -> Result:
    R = Result(STUDY)
    data, figs = paths.data_dir(section), paths.figures_dir(section)
    tables = exact.load_tables(P.tables, P.build_here, P.build_requests, P.build_limit)
    first = next(iter(tables.values()))
    X = exact.features(first)

    R.tables["tables"] = pd.DataFrame([{"table": n, "rows (distinct configs)": len(t), "raw points": t.total,
                                        "complete": t.complete, "requests": t.meta.get("n_requests"),
                                        "trace": t.meta.get("trace")} for n, t in tables.items()])

    lc = exact.learning_curve(tables, X, P, C.seed)
    lc.to_csv(data / "learning_curve.csv", index=False)
    R.tables["learning_curve"] = (lc.groupby(["metric", "model", "n_train"])[["nrmse_pct", "mape_pct", "spearman", "r2"]]
                                  .mean().round(4).reset_index())
    R.figures["learning_curve"] = figures.learning_curve(lc, figs / "learning_curve.png", P.claims.max_nrmse_pct)

    ho = exact.heldout_traces(tables, X, P, C.seed)
    ho.to_csv(data / "heldout_trace.csv", index=False)
    R.tables["heldout_trace"] = ho.round(4)
    if len(ho):
        R.figures["heldout_trace"] = figures.heldout(ho, figs / "heldout_trace.png", P.claims.min_spearman)

    sc = exact.search_cost(tables, X, P, C.seed)
    sc.to_csv(data / "search_cost.csv", index=False)
    R.tables["search_cost"] = (sc.groupby(["table", "n_train"])
                               .agg(target=("target", "first"), target_share=("target_share", "first"),
                                    hits=("hit", "sum"), runs=("hit", "size"),
                                    simulations_median=("simulations", "median"),
                                    random_median=("random_median", "first"),
                                    speedup_geomean=("speedup_vs_median", _geomean))
                               .reset_index())
    R.figures["search_cost"] = figures.search_cost(sc, figs / "search_cost.png")

    R.metrics.update(_metrics(lc, ho, sc, P))
    R.claims = [accuracy_claim(lc, P, C, R.figures["learning_curve"]),
                heldout_claim(ho, P, C, R.figures.get("heldout_trace")),
                search_claim(sc, P, C, R.figures["search_cost"])]
    return R


def _geomean(x: pd.Series) -> float:
    return float(np.exp(np.mean(np.log(np.asarray(x, dtype=float)))))


def bootstrap_ci(values: np.ndarray, statistic: Callable[[np.ndarray], float], P: Any,
                 seed: int) -> tuple[float, float] | None:
    """Percentile bootstrap CI of ``statistic`` over the independent units ``values``
    (``None`` with fewer than 2 units; a point interval when all are equal)."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return None
    if np.ptp(v) == 0:
        return float(v[0]), float(v[0])
    res = stats.bootstrap((v,), statistic, vectorized=False, n_resamples=P.claims.bootstrap,
                          confidence_level=P.claims.ci, method="percentile", random_state=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return float(lo), float(hi)


def clustered_ci(df: pd.DataFrame, value: str, inner: str, P: Any, seed: int,
                 log: bool = False) -> tuple[float, tuple[float, float] | None]:
    """Mean of ``value`` over tables (each table's mean over its ``inner`` units: repeats or
    seeds) and its percentile CI from a two-stage bootstrap that resamples tables, then ``inner``
    units within each (:func:`archlab.analysis.stats.hierarchical_bootstrap`). With ``log``, the
    mean and CI are of ``log(value)``, returned exponentiated (a geometric mean). The CI is
    ``None`` with fewer than 2 rows, a point interval when all values are equal."""
    v = np.asarray(df[value], dtype=float)
    v = np.log(v) if log else v
    back = np.exp if log else (lambda x: x)
    if len(v) == 0:
        return float("nan"), None
    if len(v) < 2 or np.ptp(v) == 0:
        point = float(back(v.mean()))
        return point, (None if len(v) < 2 else (point, point))
    d = pd.DataFrame({"table": df["table"].to_numpy(), inner: df[inner].to_numpy(), "v": v})
    iv = hierarchical_bootstrap(d, "v", outer="table", inner=inner, n_boot=P.claims.bootstrap,
                                level=P.claims.ci, seed=seed)
    return float(back(iv.value)), (float(back(iv.lo)), float(back(iv.hi)))


def _metrics(lc: pd.DataFrame, ho: pd.DataFrame, sc: pd.DataFrame, P: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for r in lc.groupby(["table", "model", "metric", "n_train"])[["nrmse_pct", "spearman"]].mean().reset_index().itertuples():
        key = f"learning_curve.{r.table}.{r.model}.{r.metric}.n{r.n_train}"
        out[key + ".nrmse_pct"] = round(float(r.nrmse_pct), 6)
        out[key + ".spearman"] = round(float(r.spearman), 6)
    for r in ho.itertuples():
        out[f"heldout_trace.{r.held_out}.spearman"] = round(float(r.spearman), 6)
    for (t, n), g in sc.groupby(["table", "n_train"]):
        out[f"search.{t}.n{n}.simulations_median"] = float(g["simulations"].median())
        out[f"search.{t}.n{n}.hit_rate"] = float(g["hit"].mean())
    for t, g in sc.groupby("table"):
        out[f"search.{t}.random_median"] = float(g["random_median"].iloc[0])
        out[f"search.{t}.target_share"] = float(g["target_share"].iloc[0])
    return out


def accuracy_claim(lc: pd.DataFrame, P: Any, C: Any, figure: Any) -> Claim:
    metric, model, n = P.metrics[0], P.models[0], int(lc["n_train"].max())
    sub = lc[(lc["metric"] == metric) & (lc["model"] == model) & (lc["n_train"] == n)]
    v = sub["nrmse_pct"].to_numpy()
    value, ci = clustered_ci(sub, "nrmse_pct", "repeat", P, C.seed)
    tables = list(dict.fromkeys(sub["table"]))
    per_table = sub.groupby("table", sort=False)["nrmse_pct"].mean()
    rule = (f"supported if the upper end of the {P.claims.ci:.0%} bootstrap CI (over tables, then repeats "
            f"within a table) of the mean nRMSE % ({model}, {metric}, {n} training simulations, tested on every "
            f"other distinct configuration) is <= {P.claims.max_nrmse_pct:g}; not supported if its lower end "
            f"is above")
    return Claim("proxy_accuracy", "A proxy trained on simulations predicts the simulator over the whole space "
                 f"(nRMSE %, {metric})", "ArchGym: random-forest proxy, RMSE 0.61%", value, ci, len(v),
                 verdict_at_most(ci, P.claims.max_nrmse_pct), rule, paths.relative(figure), COMMAND, unit="%",
                 source="data/proxy/learning_curve.csv",
                 note=f"{len(tables)} tables x {P.repeats} repeats; per table (mean over repeats): "
                      f"{', '.join(f'{t}: {x:.3g}' for t, x in per_table.items())}")


def heldout_claim(ho: pd.DataFrame, P: Any, C: Any, figure: Any) -> Claim:
    rule = (f"supported if the lower end of the {P.claims.ci:.0%} bootstrap CI (over held-out traces) of the "
            f"mean Spearman ({P.heldout.metric}, whole space of the held-out trace) is >= "
            f"{P.claims.min_spearman:g}; not supported if its upper end is below; inconclusive with < 2 traces")
    claim = "A proxy trained on other traces ranks a new trace's configurations (Spearman)"
    paper = "ArchGym: proxies replace the simulator for design-space search"
    if len(ho) == 0:
        return Claim("proxy_heldout_trace", claim, paper, None, None, 0, "inconclusive", rule, None, COMMAND,
                     note="fewer than two tables: no held-out trace")
    v = ho["spearman"].to_numpy()
    ci = bootstrap_ci(v, np.mean, P, C.seed + 1)
    return Claim("proxy_heldout_trace", claim, paper, float(v.mean()), ci, len(v),
                 verdict_at_least(ci, P.claims.min_spearman), rule,
                 None if figure is None else paths.relative(figure), COMMAND,
                 source="data/proxy/heldout_trace.csv",
                 note=f"worst held-out trace {ho.loc[ho['spearman'].idxmin(), 'held_out']}: {v.min():.3g}")


def search_claim(sc: pd.DataFrame, P: Any, C: Any, figure: Any) -> Claim:
    S = P.search
    sub = sc[sc["n_train"] == sc.loc[(sc["n_train"] - S.claim_train).abs().idxmin(), "n_train"]]
    v = sub["speedup_vs_median"].to_numpy()
    value, ci = clustered_ci(sub, "speedup_vs_median", "seed", P, C.seed + 2, log=True)
    thr = P.claims.min_speedup
    verdict: Verdict = "inconclusive"
    if ci is not None:
        verdict = "supported" if ci[0] > thr else ("not supported" if ci[1] < thr else "inconclusive")
    rule = (f"target: the exact value random search meets within {S.budget} simulations with probability "
            f">= {S.p0:g}; proxy ({S.model}) trained on {S.claim_train} simulations of non-target configurations, "
            f"then configurations simulated in predicted order until one meets the target. Supported if the lower "
            f"end of the {P.claims.ci:.0%} bootstrap CI (over tables, then seeds within a table) of the geometric "
            f"mean of (random search's median simulations / the proxy's simulations incl. training) is > {thr:g}; "
            f"not supported if its upper end is < {thr:g}")
    return Claim("proxy_search_cost", "Search on a proxy meets a target with fewer simulations than random "
                 "search, training counted (ratio)", "ArchGym: ~2,000x less simulation time (training not counted)",
                 value, ci, len(v), verdict, rule, paths.relative(figure), COMMAND,
                 unit="x", source="data/proxy/search_cost.csv",
                 note=f"{int(sub['hit'].sum())}/{len(sub)} runs met the target within {S.max_verify} candidates; "
                      f"per table (geometric mean over seeds): "
                      + ", ".join(f"{t}: {_geomean(g):.3g}" for t, g in
                                  sub.groupby("table", sort=False)["speedup_vs_median"]))
