"""CPU cost of one BO experiment (budget 250, default hyperparameters unless overridden).

Each measurement runs in a fresh Python process, so the figure includes every import
(torch, BoTorch, GPyTorch) exactly as one sweep experiment pays it; the parent reports the
child's user+system CPU seconds (``resource.getrusage(RUSAGE_CHILDREN)``) and wall time.
The problem is the cheap synthetic DRAM-like problem (``make_problem("synthetic", ...)``),
so the simulator's share is negligible and the figure is BO's own cost; ``--problem table``
with ``--workload dram/<trace>`` runs it on an exact DRAM table instead. The target is the
exact optimum (enumerated, or the table's), so the reported reward is the normalized score
optimum / best found: a cost lever that also lowers the score is visible.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bo_cost.py [--hp key=value ...]
[--repeats 3] [--budget 250]``. ``--variants`` measures the preset variants listed in
``VARIANTS`` (one line each) instead of a single setting.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from archlab import search
from archlab.problems import make_problem
a = json.loads(sys.argv[1])
p = make_problem(a["problem"], workload=a["workload"], objective=a["objective"], target=a["target"])
s = search.make("bo", p.space, seed=a["seed"], **a["hp"])
log = search.run(p, s, a["budget"])
print(json.dumps({"best_reward": float(log["best_reward"].iloc[-1]), "fits": getattr(s, "_n_fits", None),
                  "wall_s": time.perf_counter() - t0}))
"""

# (label, hyperparameter overrides): each changes one cost lever against the defaults
VARIANTS = [
    ("defaults", {}),
    ("refit_growth=1 (every 5)", {"refit_growth": 1.0}),
    ("refit_growth=2", {"refit_growth": 2.0}),
    ("fit_maxiter=15", {"fit_maxiter": 15}),
    ("pool_size=500", {"pool_size": 500}),
    ("local_rounds=1", {"local_rounds": 1}),
    ("n_local=32", {"n_local": 32}),
]


def optimum_target(args: argparse.Namespace) -> dict[str, float]:
    """The exact optimum of the objective (table: its optimum row; else by enumeration), so
    that the reported reward is the normalized score optimum / best found (1 = optimal)."""
    import itertools

    from archlab.problems import make_problem

    p = make_problem(args.problem, workload=args.workload, objective=args.objective)
    if hasattr(p, "optimum") and callable(p.optimum):
        return dict(p.optimum())
    names, best = p.space.names, {m: float("inf") for m in p.objectives}
    for combo in itertools.product(*(d.values for d in p.space.dims)):
        m = p.evaluate(dict(zip(names, combo)))
        for k in best:
            best[k] = min(best[k], m[k])
    return best


def measure(args: argparse.Namespace, hp: dict, seed: int) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    payload = json.dumps({"problem": args.problem, "workload": args.workload, "objective": args.objective,
                          "seed": seed, "hp": hp, "budget": args.budget, "target": args.target})
    out = subprocess.run([sys.executable, "-c", CHILD, payload], check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    return {"cpu_s": cpu, "wall_s": wall, "best_reward": res["best_reward"], "fits": res["fits"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", default="synthetic")
    ap.add_argument("--workload", default="a")
    ap.add_argument("--objective", default="latency")
    ap.add_argument("--budget", type=int, default=250)
    ap.add_argument("--repeats", type=int, default=3, help="seeds 0..repeats-1")
    ap.add_argument("--hp", nargs="*", default=[], help="key=value hyperparameter overrides")
    ap.add_argument("--variants", action="store_true", help="measure every preset variant")
    args = ap.parse_args()
    args.target = optimum_target(args)
    print(f"# python {platform.python_version()}, {platform.machine()}, {platform.processor() or '?'}; "
          f"problem={args.problem}/{args.workload}/{args.objective} budget={args.budget}")
    runs = VARIANTS if args.variants else [(" ".join(args.hp) or "current defaults",
                                           {k: json.loads(v) if v[:1].isdigit() else v
                                            for k, v in (h.split("=", 1) for h in args.hp)})]
    print(f"# normalized score = exact optimum / best found (target {args.target})")
    print(f"{'variant':26s} {'cpu_s (min/median)':>20s} {'wall_s median':>14s} {'fits':>5s} {'score (mean)':>13s}")
    for label, hp in runs:
        r = [measure(args, hp, seed) for seed in range(args.repeats)]
        cpu = sorted(x["cpu_s"] for x in r)
        wall = sorted(x["wall_s"] for x in r)
        best = sum(x["best_reward"] for x in r) / len(r)
        print(f"{label:26s} {cpu[0]:9.1f} / {cpu[len(cpu) // 2]:7.1f} {wall[len(wall) // 2]:14.1f} "
              f"{r[0]['fits']!s:>5s} {best:13.4f}", flush=True)


if __name__ == "__main__":
    main()
