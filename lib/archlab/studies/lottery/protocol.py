"""The lottery protocol: exact targets, equal hp draws, tuning seeds separate from held-out seeds.

Vocabulary. A *task* is a tabulated problem (``table``) with one workload and one objective.
Its *target* is :meth:`~archlab.problems.table.Table.target_for` ``(p0, budget)``: uniform
random search meets it within the budget with probability ``p0`` (exactly, up to the
discreteness of the table; the achieved value is recorded). An *experiment* is one searcher
with one hyperparameter (hp) draw and one seed on one task for ``budget`` evaluations.

Protocol (every searcher alike, BO included):

1. **Draws.** Each searcher gets ``hp_draws`` draws: draw 0 is its declared defaults, draws
   1.. are sampled from its declared space narrowed by the *hp rule* (the upper end of a
   batch/population/initial-design size is capped at a stated fraction of the budget, so
   every draw can learn within the budget; a default above the cap is clipped to it) and by
   ``hp_ranges``. Draw ``k`` of a searcher is the same configuration on every task.
2. **Tuning.** Every draw runs on every task with the *tuning seeds*. The *tuned* draw of a
   (task, searcher) is the draw with the best mean score over the tuning seeds (ties: lower
   draw index).
   A task whose hardest target (its optimum) is still met by random search with probability
   above ``max_p_random`` is *saturated*: it cannot tell searchers apart, so it is listed (with
   its optimum's tail share) and neither run nor scored.
3. **Evaluation.** On fresh *held-out seeds* (never used for selection) each (task, searcher)
   runs three conditions: ``default`` (draw 0), ``tuned`` and ``draw`` (one draw chosen
   uniformly at random per held-out seed, seeded). Only these results are reported.

Scores (per experiment; exact, from the table): the best configuration found has quantile
level ``L`` (raw points at least as good in the table's order); ``tail = L / N``;
``score = log(tail) / log(tail_opt)`` in [0, 1] (1 = the optimum, 0 = the worst point; the
orders of magnitude of the space beaten, as a share of the most possible); ``rank`` is 1 +
the distinct configurations strictly better; ``regret`` is the table's (value / optimum - 1
for one objective, excess quantile share for a joint one); ``met_target`` means some
evaluation met the target. Results live in a resumable :class:`~archlab.sweep.Store`; a
rerun computes only the experiments missing from it.

:func:`run_protocol` is the one entry point (the lottery study and ``archlab bench`` use it).
"""

from __future__ import annotations

import functools
import json
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from archlab.core.space import Integer, Space
from archlab.sweep import Experiment, Store, SweepResult, run_sweep
from archlab.sweep.plan import canonical_json, derive_seed, restrict, unique_draws
from archlab.sweep.store import CPU, ID_COLUMNS, OBJ

CONDITIONS = ("default", "tuned", "draw")
# searcher -> hyperparameter -> HpRule field capping its upper end (fraction of the budget)
RULE_KEYS: dict[str, dict[str, str]] = {
    "ppo": {"batch": "rl_batch"},
    "marl": {"batch": "rl_batch"},
    "ga": {"population": "population"},
    "nsga2": {"population": "population"},
    "aco": {"ants": "population"},
    "bo": {"n_init": "init"},
    "tpe": {"n_startup_trials": "init"},
}


# ------------------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class Task:
    workload: str
    objective: str
    problem: str = "table"

    @property
    def label(self) -> str:
        return f"{self.workload}:{self.objective}"


def resolve_tasks(P: Any) -> tuple[list[Task], list[str]]:
    """Tasks of ``P.tasks`` whose tables exist, and the labels of skipped optional ones.
    A missing table of a non-optional entry raises (naming the table and how to build it)."""
    from archlab.problems.table import TableError, available_tables, table_path
    from archlab.studies.lottery.toy import ensure_toy_table

    tasks, skipped = [], []
    for i, entry in enumerate(P.tasks):
        if entry.build == "toy":
            ensure_toy_table()
        workloads = []
        for w in entry.workloads:
            if w.endswith("/*"):  # every table of a kind, e.g. accel/* (none yet: skipped if optional)
                found = available_tables(w[:-2])
                if not found and not entry.optional:
                    raise ValueError(f"lottery.tasks[{i}].workloads: no {w} table exists")
                workloads += found or []
                if not found:
                    skipped += [f"{w}:{o}" for o in entry.objectives]
            else:
                workloads.append(w)
        for w in workloads:
            try:
                table_path(w)
            except TableError as e:
                if entry.optional:
                    skipped += [f"{w}:{o}" for o in entry.objectives]
                    continue
                raise ValueError(f"lottery.tasks[{i}].workloads: {e}") from None
            tasks += [Task(w, o, entry.problem) for o in entry.objectives]
    labels = [t.label for t in tasks]
    if len(set(labels)) != len(labels):
        raise ValueError("lottery.tasks: a workload x objective is listed twice")
    if not tasks:
        raise ValueError(f"lottery.tasks: no task has a table (skipped: {', '.join(skipped)})")
    return tasks, skipped


@dataclass(frozen=True)
class TaskRef:
    """A task's exact reference: its target and the table's order statistics."""

    task: Task
    target: dict[str, float]
    share: float  # raw-space share meeting the target
    hit_probability: float  # uniform random search, with replacement, within the budget
    total: int  # raw points
    rows: int  # distinct configurations
    optimum: dict[str, float]
    opt_level: int
    metrics: tuple[str, ...]
    _levels: Any = field(repr=False, compare=False, default=None)

    def levels(self, values: np.ndarray) -> np.ndarray:
        """Raw points at least as good as each metric row ``values[n, m]`` (in the table's
        order: one objective by value, a joint one by ``u = max_i F_i``)."""
        return self._levels(values)

    def score(self, level: np.ndarray | float) -> np.ndarray:
        """``log(level/N) / log(opt_level/N)`` in [0, 1]."""
        lo = math.log(self.opt_level / self.total)
        lv = np.log(np.asarray(level, dtype=float) / self.total)
        return np.ones_like(lv) if lo == 0 else np.clip(lv / lo, 0.0, 1.0)


def _level_function(table: Any, metrics: Sequence[str]):
    """Vectorized ``max_i F_i(v_i)`` (exact weighted CDFs in raw-point counts)."""
    parts = []
    w = table.weights
    for m in metrics:
        v = table.column(m)
        order = np.argsort(v, kind="stable")
        distinct, start = np.unique(v[order], return_index=True)
        end = np.append(start[1:], len(v)) - 1
        parts.append((distinct, np.cumsum(w[order])[end]))

    def u_of(values: np.ndarray) -> np.ndarray:
        values = np.atleast_2d(np.asarray(values, dtype=float))
        out = np.zeros(len(values), dtype=np.int64)
        for j, (distinct, cum) in enumerate(parts):
            k = np.searchsorted(distinct, values[:, j], side="right") - 1
            out = np.maximum(out, np.where(k >= 0, cum[np.maximum(k, 0)], 0))
        return out

    # raw points at least as good in the table's order (u = max_i F_i; one objective: u itself)
    u_all = u_of(np.column_stack([table.column(m) for m in metrics]))
    order = np.argsort(u_all, kind="stable")
    u_sorted, cum = u_all[order], np.cumsum(w[order])

    def levels(values: np.ndarray) -> np.ndarray:
        k = np.searchsorted(u_sorted, u_of(values), side="right") - 1
        return np.where(k >= 0, cum[np.maximum(k, 0)], 0).astype(np.int64)

    return levels


@functools.lru_cache(maxsize=256)
def _reference(task: Task, p0: float, budget: int) -> TaskRef:
    from archlab.problems import make_problem

    prob = make_problem(task.problem, task.workload, task.objective, {"p0": p0, "budget": budget})
    d = prob.difficulty
    metrics = tuple(prob.objectives)
    fn = _level_function(prob.table, metrics)
    opt = prob.optimum()
    opt_level = int(fn(np.array([[opt[m] for m in metrics]]))[0])
    return TaskRef(task, dict(d.target), float(d.share), float(d.hit_probability), int(prob.table.total),
                   len(prob.table), opt, opt_level, metrics, fn)


def reference(task: Task, p0: float, budget: int) -> TaskRef:
    return _reference(task, float(p0), int(budget))


# ------------------------------------------------------------------------------ hp draws
def hp_space(name: str, P: Any) -> tuple[Space, dict[str, int]]:
    """The searcher's declared hp space capped by the hp rule, narrowed by ``hp_ranges``;
    and the caps applied (hp -> max value)."""
    from archlab.search import get

    space = get(name).hyperparameters
    caps: dict[str, int] = {}
    for hp, rule in RULE_KEYS.get(name, {}).items():
        if hp not in space.names:
            continue
        d = space[hp]
        cap = int(math.floor(getattr(P.hp_rule, rule) * P.budget))
        if isinstance(d, Integer) and cap < d.high:
            caps[hp] = max(cap, d.low)
    if caps:
        space = restrict(space, {k: [space[k].low, v] for k, v in caps.items()}, f"hp_rule.{name}")
    return restrict(space, P.hp_ranges.get(name, {}), f"lottery.hp_ranges.{name}"), caps


def draws(name: str, P: Any, seed: int) -> list[tuple[int, dict[str, Any]]]:
    """``(draw_index, resolved hp)`` for one searcher (duplicates removed, first kept).

    Draw 0: declared defaults, clipped to the hp rule and to ``hp_ranges``; draw k >= 1:
    sampled from :func:`hp_space` with ``default_rng([seed, crc32(name), k])``."""
    from archlab.search import get

    cls = get(name)
    space, _ = hp_space(name, P)
    fixed = dict(P.fixed_hp.get(name, {}))
    free = [d for d in space if d.name not in fixed]
    hps = [{d.name: _clip(d, cls.hyperparameters[d.name].default) for d in free}]
    for k in range(1, P.hp_draws):
        rng = np.random.default_rng([seed, zlib.crc32(name.encode()), k])
        hps.append({d.name: d.sample(rng) for d in free})
    return unique_draws(cls, enumerate(hps), fixed)


def _clip(d: Any, value: Any) -> Any:
    """``value`` moved inside the (narrowed) dimension ``d`` (numbers clipped; a categorical
    default outside the allowed choices becomes the first allowed one)."""
    if hasattr(d, "low") and hasattr(d, "high"):
        return type(d.low)(min(max(value, d.low), d.high))
    vals = d.values
    return value if value in vals else vals[0]


# ------------------------------------------------------------------------------ plans
def task_seed(task: Task, seed: int) -> int:
    """The searcher seed of seed index ``seed`` on ``task``: derived from both, so runs on
    different tasks draw independent streams. (Tasks on one table share its space: with one
    seed for all of them, random search proposed the same configurations on every objective
    of a table, and the runs of those tasks were copies, not independent samples.) Every
    searcher on one task gets the same seed for one index, so comparisons stay paired."""
    return derive_seed(seed, task.label)


def _experiment(ref: TaskRef, name: str, k: int, hp: dict, seed: int, P: Any) -> Experiment:
    return Experiment(ref.task.problem, ref.task.workload, ref.task.objective, dict(ref.target), name, hp,
                      task_seed(ref.task, seed), int(P.budget), int(P.batch), {}, f"p0={P.p0:g}", int(k))


def tuning_seeds(P: Any, seed: int) -> list[int]:
    return [seed + s for s in range(P.tuning_seeds)]


def eval_seeds(P: Any, seed: int) -> list[int]:
    return [seed + P.eval_seed_offset + s for s in range(P.eval_seeds)]


def tuning_plan(refs: Sequence[TaskRef], draw_sets: Mapping[str, list], P: Any, seed: int) -> list[Experiment]:
    """Every draw of every searcher on every task with every tuning seed (breadth-first)."""
    out = []
    most = max(len(d) for d in draw_sets.values())
    for s in tuning_seeds(P, seed):
        for i in range(most):
            for ref in refs:
                for name, ds in draw_sets.items():
                    if i < len(ds):
                        k, hp = ds[i]
                        out.append(_experiment(ref, name, k, hp, s, P))
    return out


def random_draw_index(task: Task, name: str, seed: int, n: int, root: int) -> int:
    """The draw (position in the searcher's draw list) of the ``draw`` condition."""
    rng = np.random.default_rng([root, zlib.crc32(task.label.encode()), zlib.crc32(name.encode()), seed])
    return int(rng.integers(n))


def eval_plan(refs: Sequence[TaskRef], draw_sets: Mapping[str, list], tuned: Mapping[tuple[str, str], int],
              P: Any, seed: int) -> list[tuple[str, Experiment]]:
    """``(condition, experiment)`` for every task, searcher, held-out seed and condition
    (one experiment may serve several conditions: the store runs it once)."""
    out = []
    for s in eval_seeds(P, seed):
        for ref in refs:
            for name, ds in draw_sets.items():
                if (ref.task.label, name) not in tuned:
                    continue  # nothing stored for it yet (run_missing=False)
                by_k = dict(ds)
                chosen = {"default": ds[0][0], "tuned": tuned[(ref.task.label, name)],
                          "draw": ds[random_draw_index(ref.task, name, s, len(ds), seed)][0]}
                for cond in CONDITIONS:
                    k = chosen[cond]
                    out.append((cond, _experiment(ref, name, k, by_k[k], s, P)))
    return out


# ------------------------------------------------------------------------------ scoring
def score_experiments(store: Store, experiments: Sequence[Experiment], refs: Mapping[str, TaskRef],
                      curve_steps: Sequence[int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per experiment: met_target, score, tail, rank, regret, auc, steps_to_target, cpu_s;
    and the best-so-far score at ``curve_steps`` (1-based evaluation counts)."""
    ids = {e.id for e in experiments}
    metrics = sorted({m for r in refs.values() for m in r.metrics})
    frame = store.read(columns=[*ID_COLUMNS, "reward", OBJ, CPU, *metrics])
    frame = frame[frame["experiment_id"].isin(ids)]
    rows, curves = [], []
    for (w, o), ev in frame.groupby(["workload", "objective"], sort=False):
        ref = refs[f"{w}:{o}"]
        ev = ev.sort_values(["experiment_id", "step"], kind="stable")
        lv = ref.levels(ev[list(ref.metrics)].to_numpy(dtype=float))
        ev = ev.assign(_level=lv)
        ev["_run"] = ev.groupby("experiment_id")["_level"].cummin()
        ev["_bsf"] = ref.score(ev["_run"].to_numpy())
        for eid, g in ev.groupby("experiment_id", sort=False):
            i_best = int(np.argmin(g["_level"].to_numpy()))
            best = g.iloc[i_best]
            hit = np.flatnonzero(g["reward"].to_numpy() >= 1.0)
            value = {m: float(best[m]) for m in ref.metrics}
            rows.append({"experiment_id": eid, "task": ref.task.label, "workload": w, "objective": o,
                         "searcher": best["searcher"], "hp_draw": int(best["hp_draw"]), "hp": best["hp"],
                         "seed": int(best["seed"]), "budget": int(best["budget"]),
                         "met_target": bool(len(hit)), "steps_to_target": float(hit[0] + 1) if len(hit) else np.nan,
                         "level": int(best["_level"]), "tail": float(best["_level"]) / ref.total,
                         "score": float(ref.score(best["_level"])), "rank": _rank(ref, value),
                         "regret": _regret(ref, value), "auc": float(g["_bsf"].mean()),
                         "cpu_s": float(best[CPU]) if CPU in g else np.nan})
            if curve_steps is not None:
                b = g["_bsf"].to_numpy()
                st = [s for s in curve_steps if s <= len(b)]
                curves.append(pd.DataFrame({"experiment_id": eid, "evaluations": st, "bsf": b[np.array(st) - 1]}))
    runs = pd.DataFrame(rows)
    cur = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=["experiment_id", "evaluations", "bsf"])
    return runs, cur


def _rank(ref: TaskRef, value: dict) -> int:
    return int(_problem_cached(ref.task, canonical_json(ref.target)).rank(value))


def _regret(ref: TaskRef, value: dict) -> float:
    return float(_problem_cached(ref.task, canonical_json(ref.target)).regret(value))


@functools.lru_cache(maxsize=256)
def _problem_cached(task: Task, target_json: str) -> Any:
    from archlab.problems import make_problem

    return make_problem(task.problem, task.workload, task.objective, json.loads(target_json))


def select_tuned(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (task, searcher): the draw with the highest mean score over the tuning seeds
    (ties: lower draw index), with that mean and its tuning-seed hit share."""
    m = runs.groupby(["task", "searcher", "hp_draw"], as_index=False).agg(
        tuning_score=("score", "mean"), tuning_share=("met_target", "mean"), hp=("hp", "first"))
    m = m.sort_values(["task", "searcher", "tuning_score", "hp_draw"], ascending=[True, True, False, True])
    return m.groupby(["task", "searcher"], as_index=False).first()


# ------------------------------------------------------------------------------ entry point
@dataclass
class ProtocolTables:
    """What :func:`run_protocol` returns (tidy tables)."""

    tasks: pd.DataFrame  # one row per task: target, exact share, random hit probability, optimum
    runs: pd.DataFrame  # one row per (condition, experiment): phase, condition, scores
    tuned: pd.DataFrame  # the tuned draw per (task, searcher)
    draws: pd.DataFrame  # searcher, hp_draw, hp, caps (the hp rule applied)
    curves: pd.DataFrame  # held-out runs: condition, task, searcher, seed, evaluations, bsf
    skipped: list[str] = field(default_factory=list)
    experiments: int = 0  # distinct experiments of the protocol
    ran: int = 0  # run now (the rest came from the store)
    failed: int = 0


def curve_steps(budget: int, points: int) -> list[int]:
    return sorted({int(round(x)) for x in np.geomspace(1, budget, points)} | {budget})


def run_protocol(searchers: Sequence[str], tasks: Sequence[Task], params: Any, store: Store, *,
                 seed: int = 0, executor: str = "local", workers: int = 2, address: str | None = None,
                 progress: bool = False, run_missing: bool = True) -> ProtocolTables:
    """Run (or reuse from ``store``) the protocol for ``searchers`` on ``tasks``.

    ``params``: a :class:`~archlab.studies.lottery.params.LotteryParams` (or anything with its
    fields: p0, budget, batch, hp_draws, hp_rule, hp_ranges, fixed_hp, tuning_seeds,
    eval_seeds, eval_seed_offset, curve_points). Returns :class:`ProtocolTables`.
    ``run_missing=False`` only reads what the store holds (a partial look while a sweep runs).
    """
    P = params
    all_refs = [reference(t, P.p0, P.budget) for t in tasks]
    cap = getattr(P, "max_p_random", 1.0)
    refs = [r for r in all_refs if r.hit_probability <= cap]
    if not refs:
        raise ValueError(f"every task is saturated (random search meets even the optimum with probability > "
                         f"{cap:g}): {', '.join(r.task.label for r in all_refs)}")
    by_label = {r.task.label: r for r in refs}
    draw_sets = {name: draws(name, P, seed) for name in searchers}
    caps = {name: hp_space(name, P)[1] for name in searchers}
    # 1. tuning
    tune = tuning_plan(refs, draw_sets, P, seed)
    sweep = functools.partial(run_sweep, store=store, executor=executor, workers=workers, address=address,
                              progress=progress)
    r1 = sweep(tune) if run_missing else SweepResult(len(tune), len(tune), 0, 0.0)
    t_runs, _ = score_experiments(store, tune, by_label)
    tuned = select_tuned(t_runs)
    tuned_k = {(r.task, r.searcher): int(r.hp_draw) for r in tuned.itertuples()}
    # 2. held-out evaluation
    plan = eval_plan(refs, draw_sets, tuned_k, P, seed)
    unique = list({e.id: e for _, e in plan}.values())
    r2 = sweep(unique) if run_missing else SweepResult(len(unique), len(unique), 0, 0.0)
    if run_missing:
        store.write_plan([e.id for e in tune] + [e.id for e in unique])
    e_runs, cur = score_experiments(store, unique, by_label, curve_steps(P.budget, P.curve_points))
    cond = pd.DataFrame([{"condition": c, "experiment_id": e.id} for c, e in plan])
    e_rows = cond.merge(e_runs, on="experiment_id", how="inner").assign(phase="eval")
    runs = pd.concat([t_runs.assign(phase="tuning", condition="tuning"), e_rows], ignore_index=True)
    curves = cond.merge(e_runs[["experiment_id", "task", "searcher", "seed"]], on="experiment_id").merge(
        cur, on="experiment_id")
    task_rows = [{"task": r.task.label, "workload": r.task.workload, "objective": r.task.objective,
                  "target": canonical_json(r.target), "share": r.share, "p_random": r.hit_probability,
                  "optimum": canonical_json(r.optimum), "opt_tail": r.opt_level / r.total,
                  "distinct": r.rows, "raw": r.total, "saturated": r.hit_probability > cap} for r in all_refs]
    draw_rows = [{"searcher": n, "hp_draw": k, "hp": canonical_json(hp), "caps": canonical_json(caps[n])}
                 for n, ds in draw_sets.items() for k, hp in ds]
    return ProtocolTables(pd.DataFrame(task_rows), runs, tuned, pd.DataFrame(draw_rows), curves,
                          experiments=len(tune) + len(unique), ran=r1.ran + r2.ran, failed=r1.failed + r2.failed)

