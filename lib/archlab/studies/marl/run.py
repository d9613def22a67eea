"""MARL vs single-agent PPO (ArchGym formulations) on exact DRAM tables, paired over tasks x seeds.

Protocol (params section ``marl``):

* tasks = ``workloads`` x ``objectives``; every task's exact optimum comes from its table
  (``TableProblem.optimum``) or, for small non-table problems, from enumerating the space;
* the reward both agents learn from, and the score we report, is the *normalized score*
  ``target_reward(metrics, optimum)`` = geometric mean over objective metrics of
  ``optimum_i / value_i`` (1 exactly at the optimum); regret = 1/score - 1 for one objective;
* for each task and seed index ``k`` both searchers run ``steps`` evaluations with one searcher
  seed (equal budgets, same seed: the pair), :func:`run_seed` = ``derive_seed(common.seed +
  seed_offset + k, "<workload>:<objective>")``: derived per task, so the tasks of one table
  (one space) draw independent streams and the bootstrap's and Wilcoxon's independence
  assumptions hold; each run's best score, the normalized area under its best-so-far curve
  (AUC) and the table rank of its best design are kept;
* outcome = paired difference MARL - PPO per (task, seed); mean with a hierarchical-bootstrap
  CI (tasks, then seeds), a Wilcoxon signed-rank test and the minimum detectable effect
  (paired t, ``alpha``, ``power``) at that n;
* verdict (stated before the run, params and notebook): *not supported* when the whole CI
  lies within +-``equivalence_margin`` (no practically relevant difference) or below 0;
  *supported* when the CI lies above 0 (and not inside the margin); else *inconclusive*.

Runs are cached per run in ``data/marl/runs/<id>.json`` (the id hashes the run's inputs and
the code version of the searcher and problem), so an interrupted profile resumes.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from archlab.analysis import stats
from archlab.analysis.claims import Claim, Result
from archlab.core import paths
from archlab.problems import make_problem
from archlab.problems.table import TableProblem
from archlab.sweep.plan import derive_seed

STUDY = "marl"
COMMAND = "dvc repro marl"
METHODS = ("marl", "ppo")
RECORD_VERSION = 2  # bump when run_one's record changes (part of every run id)
PAPER = ('qualitative: "the MARL formulation consistently outperforms single-agent RL baselines such as '
         'PPO and SAC" on DRAM controller design (Krishnan et al. 2022, arXiv:2211.16385); no effect size '
         'is stated for this comparison')


# -- tasks and problems ----------------------------------------------------------------------
def tasks(P: Any) -> list[tuple[str, str]]:
    return [(w, o) for w in P.workloads for o in P.objectives]


def task_name(workload: str, objective: str) -> str:
    return f"{workload.split('/')[-1]}:{objective}"


def run_seed(P: Any, C: Any, workload: str, objective: str, k: int) -> int:
    """The searcher seed of seed index ``k`` on a task: the same for both methods (the pair),
    different across tasks (independent streams; see :func:`archlab.sweep.plan.derive_seed`)."""
    return derive_seed(C.seed + P.seed_offset + k, f"{workload}:{objective}")


def exact_optimum(problem: Any, limit: int) -> dict[str, float]:
    """Per objective metric, its minimum over the whole space (a table's optimum row for one
    objective; the per-metric minima for a joint one)."""
    objs = tuple(problem.objectives)
    if isinstance(problem, TableProblem):
        return {m: float(problem.table.column(m).min()) for m in objs}
    size = int(problem.space.size)
    if size > limit:
        raise ValueError(f"marl: problem {type(problem).__name__} has {size} configurations > enumerate_limit "
                         f"{limit}; use problem: table (exact tables) or raise marl.enumerate_limit")
    best = {m: math.inf for m in objs}
    names = problem.space.names
    combos = itertools.product(*(d.values for d in problem.space.dims))
    while True:
        chunk = [dict(zip(names, c)) for c in itertools.islice(combos, 4096)]
        if not chunk:
            break
        for m in problem.evaluate_many(chunk):
            for k in objs:
                best[k] = min(best[k], float(m[k]))
    return best


@functools.lru_cache(maxsize=32)
def _problem(kind: str, workload: str, objective: str, options: str, limit: int) -> tuple[Any, dict[str, float]]:
    opts = json.loads(options)
    base = make_problem(kind, workload=workload, objective=objective, **opts)
    opt = exact_optimum(base, limit)
    return make_problem(kind, workload=workload, objective=objective, target=opt, **opts), opt


def problem_for(P: Any, workload: str, objective: str) -> tuple[Any, dict[str, float]]:
    """The task's problem with its target at the exact optimum (reward = normalized score)."""
    return _problem(P.problem, workload, objective, json.dumps(P.options, sort_keys=True), P.enumerate_limit)


def hp_for(searcher: str, hp: dict[str, Any]) -> dict[str, Any]:
    """The shared hyperparameters this searcher declares."""
    from archlab import search

    names = set(search.get(searcher).hyperparameters.names)
    return {k: v for k, v in hp.items() if k in names}


# -- one run -------------------------------------------------------------------------------
def curve_steps(steps: int, points: int) -> np.ndarray:
    """Log-spaced evaluation counts 1..steps (deduplicated) at which curves are kept."""
    return np.unique(np.geomspace(1, steps, num=min(points, steps)).round().astype(int))


def run_one(spec: dict[str, Any]) -> dict[str, Any]:
    """One searcher run of ``spec['steps']`` evaluations on one task; JSON-able record."""
    from types import SimpleNamespace

    from archlab import search

    P = SimpleNamespace(**spec["P"])
    prob, opt = problem_for(P, spec["workload"], spec["objective"])
    s = search.make(spec["searcher"], prob.space, seed=spec["seed"], **spec["hp"])
    observe = spec["observe"]
    steps = spec["steps"]
    scores = np.empty(steps)
    best_r, best_m = -1.0, None
    distinct: set[tuple] = set()
    for t in range(steps):
        c = s.ask()
        m = prob.evaluate_many([c])[0]
        r = prob.reward(m)
        s.tell(c, r, {k: m[k] for k in observe} if observe else m)
        scores[t] = r
        if r > best_r:
            best_r, best_m = r, m
        distinct.add(prob.space.key(c))
    run = np.maximum.accumulate(scores)
    objs = tuple(prob.objectives)
    rec = {"best_score": float(run[-1]), "auc": stats.auc_best_so_far(scores),
           "distinct": len(distinct), "curve": run[curve_steps(steps, P.curve_points) - 1].tolist(),
           "best_metrics": {k: float(best_m[k]) for k in objs}}
    rec["regret"] = float(best_m[objs[0]] / opt[objs[0]] - 1.0) if len(objs) == 1 else float(1 / run[-1] - 1)
    rec["rank"] = int(prob.rank({k: best_m[k] for k in objs})) if isinstance(prob, TableProblem) else None
    hit = np.flatnonzero(scores >= 1.0 - 1e-12)
    rec["first_optimum"] = int(hit[0]) + 1 if len(hit) else None  # evaluations until the exact optimum
    return rec


def _run_id(spec: dict[str, Any], code: str, problem_id: str) -> str:
    key = json.dumps({k: spec[k] for k in ("workload", "objective", "searcher", "seed", "steps", "hp", "observe")}
                     | {"problem": problem_id, "code": code, "curve_points": spec["P"]["curve_points"],
                        "record": RECORD_VERSION},
                     sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _job(args: tuple[dict[str, Any], str]) -> dict[str, Any]:
    spec, path = args
    rec = run_one(spec)
    from pathlib import Path

    p = Path(path)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec))
    tmp.replace(p)
    return rec


def run_all(P: Any, C: Any) -> pd.DataFrame:
    """Every (task, method, seed) run, from the cache or computed (in ``workers`` processes)."""
    from archlab.sweep.fingerprint import code_version

    cache = paths.data_dir(STUDY) / "runs"
    cache.mkdir(parents=True, exist_ok=True)
    pdict = P.model_dump(mode="json")
    rows, todo = [], []
    for (w, o), method, k in itertools.product(tasks(P), METHODS, range(P.seeds)):
        searcher = getattr(P, method)
        prob, opt = problem_for(P, w, o)
        spec = {"P": pdict, "workload": w, "objective": o, "searcher": searcher, "seed": run_seed(P, C, w, o, k),
                "steps": P.steps, "hp": hp_for(searcher, P.hp), "observe": P.observe}
        rid = _run_id(spec, code_version(searcher, P.problem), json.dumps(prob.describe(), sort_keys=True,
                                                                           default=str))
        row = {"task": task_name(w, o), "workload": w, "objective": o, "method": method, "searcher": searcher,
               "seed": k, "run_seed": spec["seed"], "steps": P.steps, "run_id": rid, "optimum": opt}
        rows.append(row)
        f = cache / f"{rid}.json"
        if not f.is_file():
            todo.append((spec, str(f)))
    workers = P.workers or C.workers
    if todo:
        if workers > 1 and len(todo) > 1:
            ctx = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=ctx) as ex:
                list(ex.map(_job, todo))
        else:
            for t in todo:
                _job(t)
    out = [{**row, **json.loads((cache / f"{row['run_id']}.json").read_text())} for row in rows]
    return pd.DataFrame(out)


# -- statistics -----------------------------------------------------------------------------
def paired(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, seed): each method's outcomes and the differences MARL - PPO."""
    runs = runs.assign(log_first=np.log10(runs["first_optimum"].fillna(runs["steps"]).astype(float)))
    w = runs.pivot_table(index=["task", "seed"], columns="method", values=["best_score", "auc", "regret", "log_first"])
    out = pd.DataFrame(index=w.index)
    for v in ("best_score", "auc", "regret", "log_first"):
        for m in METHODS:
            out[f"{v}_{m}"] = w[(v, m)]
    out["d_best"] = out["best_score_marl"] - out["best_score_ppo"]
    out["d_auc"] = out["auc_marl"] - out["auc_ppo"]
    # log10 evaluations to the exact optimum, PPO - MARL (> 0: MARL faster); unmet = censored at the budget
    out["d_log_first"] = out["log_first_ppo"] - out["log_first_marl"]
    return out.reset_index()


def verdict(ci: tuple[float, float], margin: float) -> str:
    """The pre-stated rule on the CI of the mean paired difference (MARL - PPO)."""
    lo, hi = ci
    if -margin <= lo and hi <= margin:
        return "not supported"  # no practically relevant difference either way
    if lo > 0:
        return "supported"
    if hi < 0:
        return "not supported"
    return "inconclusive"


def compare(pairs: pd.DataFrame, column: str, P: Any, seed: int) -> dict[str, Any]:
    """Mean paired difference with its hierarchical-bootstrap CI, Wilcoxon p, MDE and verdict."""
    from scipy import stats as sps

    d = pairs[column].to_numpy(float)
    iv = stats.hierarchical_bootstrap(pairs, column, outer="task", inner="seed", n_boot=P.bootstrap_resamples,
                                      level=P.ci, seed=seed)
    n = len(d)
    sd = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    if n > 0 and np.any(d != 0):
        p = float(sps.wilcoxon(d, zero_method="zsplit").pvalue)
    else:
        p = 1.0
    mde = stats.mde_paired(n, sd if np.isfinite(sd) else None, alpha=P.alpha, power=P.power) if n > 1 else math.inf
    wins = int((d > 0).sum())
    losses = int((d < 0).sum())
    return {"outcome": column, "n": n, "tasks": int(pairs["task"].nunique()), "mean": iv.value, "lo": iv.lo,
            "hi": iv.hi, "sd": sd, "wilcoxon_p": p, "mde": float(mde), "marl_wins": wins, "ppo_wins": losses,
            "ties": n - wins - losses, "verdict": verdict(iv.ci, P.equivalence_margin)}


def random_baseline(prob: Any, steps: int) -> dict[str, float]:
    """Uniform random search (with replacement over the raw space) at ``steps``, exactly from
    a table, one objective: probability of having met the optimum and the expected best score."""
    if not isinstance(prob, TableProblem) or len(prob.objectives) != 1:
        return {"random_p_optimum": math.nan, "random_expected_best": math.nan}
    m = prob.objectives[0]
    v, w = prob.table.column(m), prob.table.weights
    order = np.argsort(v, kind="stable")
    vals, start = np.unique(v[order], return_index=True)
    cw = np.cumsum(w[order])[np.append(start[1:], len(v)) - 1] / prob.table.total  # F at each distinct value
    surv = np.exp(steps * np.log1p(-np.minimum(cw, 1 - 1e-16)))  # P(min > v_j) = (1 - F_j)^steps
    surv[cw >= 1] = 0.0
    p_min = np.concatenate([[1.0], surv[:-1]]) - surv                # P(min == v_j)
    return {"random_p_optimum": float(1 - surv[0]), "random_expected_best": float(np.sum(vals[0] / vals * p_min))}


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Per task and method: mean best score, regret, median rank, AUC and distinct designs."""
    g = runs.groupby(["task", "method"])
    out = g.agg(best_score=("best_score", "mean"), min_best_score=("best_score", "min"),
                regret=("regret", "mean"), auc=("auc", "mean"), distinct=("distinct", "mean"),
                seeds=("seed", "count"))
    if runs["rank"].notna().any():
        out["median_rank"] = g["rank"].median()
        out["optimum_found"] = g.apply(lambda x: int((x["rank"] == 1).sum()), include_groups=False)
    out["median_evals_to_optimum"] = g["first_optimum"].median()
    return out.reset_index()


# -- the study ------------------------------------------------------------------------------
def rule_text(P: Any) -> str:
    return (f"On the mean paired difference MARL - PPO over tasks x seeds ({P.ci:.0%} hierarchical-bootstrap CI): "
            f"'not supported' if the CI lies within +-{P.equivalence_margin} (no practical difference) or below 0; "
            "'supported' if it lies above 0; else 'inconclusive'. Wilcoxon p and the minimum detectable effect "
            f"(paired t, alpha {P.alpha}, power {P.power}) are reported beside it.")


def run(P: Any, C: Any) -> Result:
    from archlab.studies.marl import figures

    runs = run_all(P, C)
    pairs = paired(runs)
    tests = pd.DataFrame([compare(pairs, "d_best", P, C.seed), compare(pairs, "d_auc", P, C.seed + 1),
                          compare(pairs, "d_log_first", P, C.seed + 2)])
    tests.loc[2, "verdict"] = "descriptive"  # no claim rests on it
    R = Result(STUDY)
    R.tables["runs"] = runs.drop(columns=["curve", "run_id", "optimum", "best_metrics"])
    base = pd.DataFrame([{"task": task_name(w, o), **random_baseline(problem_for(P, w, o)[0], P.steps)}
                         for w, o in tasks(P)])
    R.tables["summary"] = summary(runs).merge(base, on="task", how="left")
    R.tables["paired"] = pairs
    R.tables["tests"] = tests
    R.figures["curves"] = figures.curves(runs, curve_steps(P.steps, P.curve_points), P, C.seed)
    R.figures["paired"] = figures.paired_differences(pairs, tests, P)
    R.metrics = {
        "profile": P.label, "problem": P.problem, "tasks": [task_name(w, o) for w, o in tasks(P)],
        "steps": P.steps, "seeds": P.seeds, "marl_searcher": P.marl, "ppo_searcher": P.ppo,
        "tests": {r["outcome"]: {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                 for k, v in r.items()} for r in tests.to_dict("records")},
        "mean_best_score": {m: float(runs.loc[runs["method"] == m, "best_score"].mean()) for m in METHODS},
        "mean_auc": {m: float(runs.loc[runs["method"] == m, "auc"].mean()) for m in METHODS},
    }
    rule = rule_text(P)
    for row, cid, what in ((tests.iloc[0], "marl_beats_ppo_best", "best normalized score"),
                           (tests.iloc[1], "marl_beats_ppo_auc", "area under the best-so-far curve")):
        note = (f"{P.label} profile: {row['tasks']} tasks x {P.seeds} seeds, {P.steps} steps per run; "
                f"Wilcoxon p = {row['wilcoxon_p']:.3g}; MDE (paired t, power {P.power}) = {row['mde']:.3g}; "
                f"MARL better in {row['marl_wins']}, PPO in {row['ppo_wins']}, ties {row['ties']}")
        R.claims.append(Claim(
            id=cid, claim=f"Multi-agent RL beats single-agent PPO on DRAM controller design ({what}, equal steps)",
            paper=PAPER, value=float(row["mean"]), ci=(float(row["lo"]), float(row["hi"])), n=int(row["n"]),
            verdict=row["verdict"], rule=rule, figure=paths.relative(R.figures["paired"]), command=COMMAND,
            unit="score difference (MARL - PPO)", source="Krishnan et al. 2022, arXiv:2211.16385", note=note))
    return R


__all__ = ("run", "run_all", "run_seed", "paired", "compare", "verdict", "exact_optimum", "problem_for")
