"""Whole-space DRAM table cost per trace (``archlab dram table``).

Two modes:

* ``--sample N`` (default 1500): simulate a uniform sample of ``N`` of the 432,640 distinct
  configurations on one core, measure CPU time per configuration (process time: robust to
  other jobs sharing the machine), and extrapolate the whole-space cost in core-minutes and
  the wall time on ``--workers`` cores.
* ``--full``: build the whole table with ``--workers`` processes into a temporary folder
  (fresh chunk cache) and report its wall time.

    .venv/bin/python benchmarks/dram_table.py --traces pub_stream pub_random cloud-1 cloud-2 \\
        --requests 10000 1000 [--sample 1500] [--workers 2] [--full]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from archlab.problems.dram import prepare, simulate_many  # noqa: E402
from archlab.problems.dram.table import build_table, distinct_configs, resolve_table_trace  # noqa: E402


def sample_rate(trace: str, n_requests: int, configs: list[dict]) -> float:
    """CPU seconds per configuration on one core (after a warm-up)."""
    pt = prepare(resolve_table_trace(trace, n_requests))
    simulate_many(pt, configs[:20])
    c0 = time.process_time()
    simulate_many(pt, configs)
    return (time.process_time() - c0) / len(configs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--traces", nargs="+", default=["pub_stream", "pub_random", "cloud-1", "cloud-2"])
    ap.add_argument("--requests", nargs="+", type=int, default=[10_000])
    ap.add_argument("--sample", type=int, default=1500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--full", action="store_true", help="build whole tables (wall time)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    frame, _ = distinct_configs()
    total = len(frame)
    load = os.getloadavg()[0]
    print(f"{total:,} distinct configurations; {os.cpu_count()} CPUs; load {load:.1f}")
    if not a.full:
        rows = np.random.default_rng(a.seed).choice(total, a.sample, replace=False)
        names = list(frame.columns)
        configs = [dict(zip(names, (v.item() if hasattr(v, "item") else v for v in r)))
                   for r in frame.iloc[rows].itertuples(index=False)]
        print(f"| trace | requests | ms CPU / config | whole space, core-min | wall on {a.workers} cores, min |")
        print("|---|---|---|---|---|")
        for n in a.requests:
            for t in a.traces:
                s = sample_rate(t, n, configs)
                core_min = s * total / 60
                print(f"| {t} | {n:,} | {s * 1e3:.3f} | {core_min:.1f} | {core_min / a.workers:.1f} |", flush=True)
        return
    print(f"| trace | requests | wall, min ({a.workers} workers) | configs/s |")
    print("|---|---|---|---|")
    for n in a.requests:
        for t in a.traces:
            with tempfile.TemporaryDirectory() as tmp:
                os.environ["ARCHLAB_CACHE"] = os.path.join(tmp, "cache")
                w0 = time.perf_counter()
                build_table(t, n_requests=n, out_dir=tmp, workers=a.workers, progress=False)
                wall = time.perf_counter() - w0
            print(f"| {t} | {n:,} | {wall / 60:.2f} | {total / wall:,.0f} |", flush=True)
    print(f"load at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
