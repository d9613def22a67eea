"""Accelerator-problem speed: evaluations per second, cold (ZigZag runs) and warm (cache hits).

    .venv/bin/python benchmarks/accel_speed.py --workload mobilenetv2:conv50 --n 8 --lpf-limit 2

Cold: ``n`` distinct seeded random points into a fresh temporary cache, once in-process
(``workers=1``) and once fanned out over spawned processes (``--workers``, different points
so nothing is shared). Warm: the same points again, served from the on-disk cache by a
fresh ``AccelProblem`` (as after a restart). Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
from archlab.problems.accel import AccelProblem


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="mobilenetv2:conv50")
    ap.add_argument("--n", type=int, default=8, help="distinct points per cold measurement")
    ap.add_argument("--lpf-limit", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="accel-bench-") as cache:
        def problem(workers: int) -> AccelProblem:
            return AccelProblem(args.workload, lpf_limit=args.lpf_limit, workers=workers, cache_root=cache)

        rng = np.random.default_rng(args.seed)
        serial_pts = problem(1).space.sample_many(rng, args.n)
        parallel_pts = problem(1).space.sample_many(rng, args.n)
        out = {"workload": args.workload, "n": args.n, "lpf_limit": args.lpf_limit, "workers": args.workers}
        for label, workers, pts in (("cold_serial", 1, serial_pts), ("cold_parallel", args.workers, parallel_pts),
                                    ("warm", 1, serial_pts + parallel_pts)):
            t0 = time.perf_counter()
            problem(workers).evaluate_many(pts)
            dt = time.perf_counter() - t0
            out[f"{label}_evals_per_s"] = round(len(pts) / dt, 3)
            out[f"{label}_s"] = round(dt, 3)
            print(f"{label:14s} {len(pts):4d} evals in {dt:8.2f} s = {len(pts) / dt:10.2f} evals/s", flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
