"""Training data for proxies, and search on a proxy validated on the real simulator.

* :func:`logged_evaluations` reads the sweep store (``archlab.sweep.store``) and keeps one
  problem's evaluations; :func:`mini_sweep_log` produces the same columns by running a few
  searchers directly (the fallback when no store exists, e.g. smoke tests).
* :func:`uniform_evaluations` simulates a seeded uniform-random sample (batched).
* :func:`search_and_validate` runs searchers on a :class:`~archlab.problems.proxy.ProxyProblem`,
  re-simulates the distinct configurations each run ranks best, and runs the same searcher
  and seed on the simulator itself at the same budget for comparison.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archlab import search
from archlab.core.problem import Problem
from archlab.problems.proxy import ProxyProblem, plain_config
from archlab.studies.proxy.evaluate import evaluation_frame

ProblemFactory = Callable[[str, str], Problem]  # (workload, objective) -> Problem


def logged_evaluations(store: str | Path, problem: str) -> pd.DataFrame:
    """Evaluations of ``problem`` in the sweep store at ``store`` (``data/lottery``), from the
    experiments of its latest plan (results of older params or code are left out)."""
    from archlab.sweep.store import load_evaluations

    df = load_evaluations(store, planned_only=True)
    if "problem" not in df or not (df["problem"] == problem).any():
        have = sorted(df["problem"].unique()) if "problem" in df else []
        raise ValueError(f"sweep store {store} holds no evaluations of problem {problem!r}; has {have}")
    df = df[df["problem"] == problem]
    return df.dropna(axis=1, how="all").reset_index(drop=True)


def mini_sweep_log(make: ProblemFactory, workloads: Sequence[str], objective: str,
                   searchers: Sequence[str], seeds: int, budget: int, seed0: int = 0) -> pd.DataFrame:
    """A small sweep's evaluation log in the store's columns (searcher defaults)."""
    frames = []
    for w in workloads:
        prob = make(w, objective)
        for name in searchers:
            for s in range(seeds):
                log = search.run(prob, search.make(name, prob.space, seed=seed0 + s), budget)
                log = log.rename(columns={k: f"knob.{k}" for k in prob.space.names})
                log.insert(0, "experiment_id", f"mini-{w}-{name}-{seed0 + s}")
                log.insert(0, "workload", w)
                log.insert(1, "objective", objective)
                log.insert(2, "searcher", name)
                log.insert(3, "seed", seed0 + s)
                log.insert(4, "target", json.dumps(prob.target, sort_keys=True))
                frames.append(log.drop(columns=["best_reward", "wall_s"]))
    return pd.concat(frames, ignore_index=True)


def uniform_evaluations(prob: Problem, n: int, seed: int, **const: Any) -> pd.DataFrame:
    """``n`` distinct uniform-random configurations of ``prob`` simulated in one batch."""
    rng = np.random.default_rng(seed)
    n = int(min(n, prob.space.size))
    seen: dict[tuple, dict] = {}
    while len(seen) < n:
        c = prob.space.sample(rng)
        seen.setdefault(prob.space.key(c), c)
    configs = list(seen.values())
    return evaluation_frame(configs, prob.evaluate_many(configs), **const)


def logged_target(logged: pd.DataFrame, workload: str, objective: str) -> dict[str, float] | None:
    """The target the sweep used for (workload, objective), if it logged one."""
    if "target" not in logged:
        return None
    t = logged.loc[(logged["workload"] == workload) & (logged["objective"] == objective), "target"].dropna()
    if t.empty:
        return None
    vals = t.iloc[0]
    return {k: float(v) for k, v in (json.loads(vals) if isinstance(vals, str) else vals).items()}


def search_and_validate(proxy: ProxyProblem, sim: Problem, searchers: Sequence[str], seeds: Sequence[int],
                        budget: int, top_k: int = 5, hp: Mapping[str, Mapping[str, Any]] | None = None
                        ) -> pd.DataFrame:
    """One row per (searcher, seed).

    On the proxy: run ``budget`` evaluations, rank the distinct configurations by proxy
    reward (ties by predicted objective), re-simulate the ``top_k`` best. Columns:
    ``proxy_reward`` (top-1 as the proxy sees it), ``sim_reward_top1`` / ``met_top1``
    (top-1 re-simulated), ``sim_reward_topk`` / ``met_topk`` (best of the re-simulated
    ``top_k``), ``pred_err_pct`` (relative error of the top-1's first objective),
    ``sim_evals_proxy`` (simulations spent after training: ``top_k``). On the simulator
    with the same searcher and seed: ``direct_reward`` / ``direct_met`` and
    ``sim_evals_direct`` (= ``budget``).
    """
    hp = hp or {}
    obj = proxy.objectives[0]
    rows = []
    for name in searchers:
        for seed in seeds:
            log = search.run(proxy, search.make(name, proxy.space, seed=seed, **hp.get(name, {})), budget)
            log = log.assign(_key=[repr(proxy.space.key(c)) for c in
                                   log[proxy.space.names].to_dict("records")])
            ranked = log.sort_values(["reward", obj, "step"], ascending=[False, True, True])
            top = ranked.drop_duplicates("_key").head(top_k)
            configs = [plain_config(c) for c in top[proxy.space.names].to_dict("records")]
            sim_m = sim.evaluate_many(configs)
            sim_r = [sim.reward(m) for m in sim_m]
            direct = search.run(sim, search.make(name, sim.space, seed=seed, **hp.get(name, {})), budget)
            pred = float(top[obj].iloc[0])
            rows.append({
                "searcher": name, "seed": seed, "budget": budget,
                "proxy_reward": float(top["reward"].iloc[0]),
                "sim_reward_top1": sim_r[0], "met_top1": sim_r[0] >= 1.0,
                "sim_reward_topk": max(sim_r), "met_topk": max(sim_r) >= 1.0,
                "pred_objective": pred, "sim_objective": sim_m[0][obj],
                "pred_err_pct": 100.0 * abs(pred - sim_m[0][obj]) / abs(sim_m[0][obj]),
                "sim_evals_proxy": len(configs),
                "direct_reward": float(direct["reward"].max()), "direct_met": bool(direct["reward"].max() >= 1.0),
                "sim_evals_direct": budget,
                "best_config": json.dumps(configs[int(np.argmax(sim_r))], sort_keys=True, default=str),
            })
    return pd.DataFrame(rows)

