"""Sweep throughput: experiments per hour for the local executor (1 and 2 workers) and a
Dask LocalCluster, on a stratified sample of a lottery profile's experiments, plus the
projected wall time of the whole profile.

    .venv/bin/python benchmarks/sweep_throughput.py --profile paper --per-searcher 3

Every configuration runs the same sample into a fresh temporary store, so the numbers
compare executors, not caching. The sample takes ``per-searcher`` experiments of every
searcher at random (seeded): costs differ by orders of magnitude between searchers (BO
refits a GP every step), so the projection weights each searcher's mean cost by its number
of experiments in the plan:

* ``idle``: sum over searchers of count x mean worker CPU seconds, divided by the workers;
  what an otherwise idle machine needs (the worker CPU time is measured in the workers);
* ``as measured``: the idle projection times this run's wall / (CPU / workers), i.e. with
  the parallel efficiency and the machine load seen during the benchmark.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter, defaultdict

import numpy as np
from archlab.core import params
from archlab.sweep import Store, expand, run_sweep
from archlab.sweep.store import summarize


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--section", default="lottery")
    ap.add_argument("--profile", choices=["quick", "paper"], default="paper")
    ap.add_argument("--smoke", action="store_true", help="use the section's smoke overlay")
    ap.add_argument("--per-searcher", type=int, default=3, help="experiments per searcher in the sample")
    ap.add_argument("--seed", type=int, default=0, help="seed of the sample")
    ap.add_argument("--calibration-samples", type=int, default=None,
                    help="override the target calibration size (planning speed only; costs are unaffected)")
    ap.add_argument("--configs", default="local:1,local:2,dask:2", help="executor:workers,...")
    args = ap.parse_args()

    data = params.read()
    data["common"] = {**(data.get("common") or {}), "profile": args.profile}
    spec = params.load_section(args.section, smoke=args.smoke, data=data)
    seed = params.load_section("common", data=data).seed
    if args.calibration_samples:
        spec = spec.model_copy(update={"calibration_samples": args.calibration_samples})
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        plan = expand(spec, seed, cache=Store(f"{tmp}/cal").root)
        plan_s = time.perf_counter() - t0
        counts = Counter(e.searcher for e in plan)
        by = defaultdict(list)
        for i, e in enumerate(plan):
            by[e.searcher].append(i)
        rng = np.random.default_rng(args.seed)
        pick = sorted(j for idx in by.values() for j in rng.choice(idx, min(args.per_searcher, len(idx)),
                                                                    replace=False))
        sample = [plan[i] for i in pick]
        print(f"{args.section} ({args.profile}{', smoke' if args.smoke else ''}): {len(plan)} experiments, "
              f"budget {spec.budget}; planned (incl. target calibration) in {plan_s:.1f} s; "
              f"sample: {len(sample)} ({args.per_searcher} per searcher)")
        results = {}
        for item in args.configs.split(","):
            executor, workers = item.split(":")
            w = int(workers)
            store = Store(f"{tmp}/{executor}{workers}")
            r = run_sweep(sample, store, executor=executor, workers=w, progress=False)
            s = summarize(store.read())
            cpu = float(s["cpu_s"].sum())
            mean_cpu = s.groupby("searcher")["cpu_s"].mean()
            idle_h = sum(counts[n] * mean_cpu[n] for n in counts) / w / 3600
            load = r.wall_s / (cpu / w)
            results[item] = {"experiments_per_hour": round(r.rate_per_hour), "wall_s": round(r.wall_s, 1),
                             "worker_cpu_s": round(cpu, 1), "projected_h_idle": round(idle_h, 2),
                             "projected_h_as_measured": round(idle_h * load, 2),
                             "mean_cpu_s_per_experiment": mean_cpu.round(3).to_dict()}
            print(f"  {item:<8} {r.rate_per_hour:8.0f} experiments/h on the sample ({r.wall_s:6.1f} s wall, "
                  f"{cpu:6.1f} s worker CPU); full profile: {idle_h:7.2f} h idle, {idle_h * load:7.2f} h as measured")
        print(json.dumps({"profile": args.profile, "experiments": len(plan), "per_searcher": dict(counts),
                          "sample": len(sample), "results": results}))


if __name__ == "__main__":
    main()
