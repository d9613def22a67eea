"""Tabulated accelerator space: ZigZag cost per point, table lookups per second, hypervolume time.

    .venv/bin/python benchmarks/accel_table.py [--cold 4] [--tables accel/mobilenetv2-conv50 ...]

* ``zigzag_cpu_s_per_point``: the CPU seconds of the ZigZag runs that made each committed table
  (logged per point by ``archlab accel tabulate``, recorded in the table's metadata) over its rows;
  with ``--cold N``, also N seeded rows re-run now through ZigZag without the cache (process CPU).
* ``lookups_per_s``: ``TableProblem.evaluate`` one configuration at a time (the searchers' path)
  and ``evaluate_many`` on a batch of 10,000 seeded configurations.
* ``hypervolume_ms``: the exact front and its hypervolume (``TrueFront.of``) of the whole table,
  and one searcher's hypervolume ratio at 200 evaluations (``TrueFront.ratio``), best of 5.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def best_of(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def measure_table(name: str, cold: int, seed: int) -> dict:
    from archlab.analysis.pareto import TrueFront
    from archlab.problems.table import TableProblem

    p = TableProblem(name, objective="edp")
    t = p.table
    r: dict = {"rows": len(t), "zigzag": t.meta.get("zigzag"), "lpf_limit": t.meta.get("lpf_limit")}
    if t.meta.get("cpu_s"):
        r["zigzag_cpu_s_total"] = t.meta["cpu_s"]
        r["zigzag_cpu_s_per_point"] = round(t.meta["cpu_s"] / len(t), 3)
    if cold:
        from archlab.problems.accel.engine import evaluate_point
        from archlab.problems.accel.hardware import check
        from archlab.problems.accel.tabulate import sample_rows
        from archlab.problems.accel.workloads import parse

        layer, lpf = parse(t.meta["workload"]), int(t.meta["lpf_limit"])
        rows = sample_rows(t.frame, cold, seed)
        evaluate_point(check(t.config_of(int(rows.index[0]))), layer, lpf_limit=lpf)  # warm-up (imports)
        t0 = time.process_time()
        for i in rows.index:
            evaluate_point(check(t.config_of(int(i))), layer, lpf_limit=lpf)
        r["cold_cpu_s_per_point"] = round((time.process_time() - t0) / len(rows), 3)
    configs = p.space.sample_many(np.random.default_rng(seed), 10_000)
    single = [configs[i % len(configs)] for i in range(20_000)]
    r["lookups_per_s_single"] = round(len(single) / best_of(lambda: [p.evaluate(c) for c in single], 3))
    fresh = TableProblem(name, objective="edp")  # no memo yet: the first-lookup path
    r["lookups_per_s_batch_first"] = round(len(configs) / best_of(lambda: fresh.table.lookup(configs), 1))
    r["lookups_per_s_batch"] = round(len(configs) / best_of(lambda: p.evaluate_many(configs), 3))
    objs = ["energy_pJ", "latency_cycles"]
    r["true_front_and_hv_ms"] = round(1e3 * best_of(lambda: TrueFront.of(t.frame, objs)), 2)
    tf = TrueFront.of(t.frame, objs)
    trace = t.frame.sample(200, random_state=seed)
    r["hv_ratio_200_ms"] = round(1e3 * best_of(lambda: tf.ratio(trace)), 2)
    r["front_points"] = len(tf.front)
    return r


def main() -> None:
    from archlab.core.runtime import limit_threads

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=["accel/mobilenetv2-conv50", "accel/resnet18-conv13"])
    ap.add_argument("--cold", type=int, default=0, help="rows per table re-run through ZigZag now")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = {}
    with limit_threads(1):
        for name in args.tables:
            out[name] = measure_table(name, args.cold, args.seed)
            print(name, json.dumps(out[name]), flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
