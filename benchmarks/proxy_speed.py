"""Proxy vs simulator throughput on the DRAM problem (prints a table).

Fits each proxy kind on ``--train`` uniform-random simulations of one trace, then times
``evaluate_many`` (batched) and ``evaluate`` (one at a time) of the simulator and of each
proxy on the same ``--batch`` random configurations, single-threaded, back to back (the
simulator on a fresh instance per repeat: it memoizes results).

    .venv/bin/python benchmarks/proxy_speed.py --trace random --train 1000 --batch 2000 [--table dram/pub_random]

With ``--table``, the exact table's ``TableProblem`` (a lookup with the simulator's metrics) is
timed too. Note: ``--trace random`` is the generated kind with seed 0; the table of
``pub_random`` holds the public trace (seed 11), so only the timings compare, not the values.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from archlab.problems.dram import DramProblem
from archlab.problems.proxy import FeatureEncoder, ProxyProblem
from archlab.studies.proxy.evaluate import fit_metrics, speed_table
from threadpoolctl import threadpool_limits

METRICS = ("makespan_ns", "energy_pJ", "avg_power_mW")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", default="random")
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=2000)
    ap.add_argument("--single", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--table", default=None, help="also time TableProblem lookups of this table (e.g. dram/pub_random)")
    a = ap.parse_args()
    threadpool_limits(1)
    sim = DramProblem(a.trace)
    rng = np.random.default_rng(a.seed)
    train = sim.space.sample_many(rng, a.train)
    t0 = time.perf_counter()
    metrics = sim.evaluate_many(train)
    print(f"simulated {a.train} training configs of trace {a.trace!r} in {time.perf_counter() - t0:.1f} s")
    X = FeatureEncoder(sim.space).transform(train)
    Y = {m: np.array([r[m] for r in metrics]) for m in METRICS}
    # DramProblem memoizes results per instance: time a fresh one (built untimed) per repeat
    problems = {"simulator": lambda: DramProblem(a.trace, target=sim.target)}
    for kind in ("rf", "gbr", "mlp"):
        problems[f"proxy {kind}"] = ProxyProblem.imitating(sim, fit_metrics(kind, X, Y, seed=a.seed))
    if a.table:
        from archlab.problems.table import TableProblem, load_table

        def fresh_table() -> TableProblem:  # cold lookups: the canonicalization memo emptied
            load_table(a.table)._memo.clear()
            return TableProblem(a.table, target=sim.target)

        problems["table lookup"] = fresh_table
    table = speed_table(problems, sim.space.sample_many(rng, a.batch), repeats=a.repeats, single=a.single)
    base = table[table.problem == "simulator"].set_index("mode")["evals_per_s"]
    table["speedup"] = [r.evals_per_s / base[r.mode] for r in table.itertuples()]
    print(table.round(2).to_string(index=False))


if __name__ == "__main__":
    main()
