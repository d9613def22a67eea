"""Sweep throughput: experiments per hour for the local executor (1 and 2 workers) and a
Dask LocalCluster, on a breadth-first sample of a lottery profile's experiments, plus the
projected wall time of the whole profile.

    .venv/bin/python benchmarks/sweep_throughput.py --profile paper --n 28

Every configuration runs the same experiments into a fresh temporary store, so the numbers
compare executors, not caching. The sample is the first ``n`` experiments of the plan, which
is ordered breadth-first (every problem x searcher early), so it mixes cheap and expensive
searchers in the proportion of the full sweep. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from archlab import params
from archlab.sweep import Store, expand, run_sweep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--section", default="lottery")
    ap.add_argument("--profile", choices=["quick", "paper"], default="paper")
    ap.add_argument("--smoke", action="store_true", help="use the section's smoke overlay")
    ap.add_argument("--n", type=int, default=28, help="experiments per configuration")
    ap.add_argument("--configs", default="local:1,local:2,dask:2", help="executor:workers,...")
    args = ap.parse_args()

    data = params.read()
    data["common"] = {**(data.get("common") or {}), "profile": args.profile}
    spec = params.load_section(args.section, smoke=args.smoke, data=data)
    seed = params.load_section("common", data=data).seed
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        plan = expand(spec, seed, cache=Store(f"{tmp}/cal").root)
        plan_s = time.perf_counter() - t0
        sample = plan[: args.n]
        print(f"{args.section} ({args.profile}{', smoke' if args.smoke else ''}): {len(plan)} experiments, "
              f"budget {spec.budget}; planned in {plan_s:.1f} s; timing the first {len(sample)}")
        results = {}
        for item in args.configs.split(","):
            executor, workers = item.split(":")
            store = Store(f"{tmp}/{executor}{workers}")
            r = run_sweep(sample, store, executor=executor, workers=int(workers), progress=False)
            rate = r.rate_per_hour
            results[item] = {"experiments_per_hour": round(rate), "wall_s": round(r.wall_s, 1),
                             "projected_full_profile_h": round(len(plan) / rate, 1)}
            print(f"  {item:<9} {rate:9.0f} experiments/h  ({r.wall_s:6.1f} s for {r.ran}); "
                  f"full profile ~ {len(plan) / rate:6.1f} h")
        print(json.dumps({"profile": args.profile, "experiments": len(plan), "sample": len(sample),
                          "results": results}))


if __name__ == "__main__":
    main()
