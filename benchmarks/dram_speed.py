"""Speed of the DRAM simulator: ms per 10,000-request evaluation on one core.

For each public trace, times ``simulate_many`` over random configurations of the ten-knob
space (after a warm-up that loads the numba kernel) and the DRAMSys default. Reports CPU
time (process time: robust to other processes sharing the machine) and wall time.

Timings of the same kernel differ between processes by up to ~1.6x on the development
machine (a memory-layout effect that stays for the life of a process), so the script runs
``--processes`` fresh processes and prints the best and the median of them.

    .venv/bin/python benchmarks/dram_speed.py [--configs 200] [--processes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from archlab.problems.dram import KNOBS, prepare, simulate_many  # noqa: E402

TRACES = ("pub_stream", "pub_random", "pub_mixed", "pub_rw")


def _time(pt, configs) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    simulate_many(pt, configs)
    return (time.process_time() - c0) / len(configs), (time.perf_counter() - w0) / len(configs)


def measure(n_configs: int) -> list[dict]:
    """One process's rows: trace, configs, cpu and wall seconds per evaluation, requests."""
    configs = KNOBS.sample_many(np.random.default_rng(0), n_configs)
    rows = []
    for name in TRACES:
        pt = prepare(name)
        simulate_many(pt, configs[:2])  # compile / load the cached kernel
        for label, cfgs in (("random", configs), ("default", [KNOBS.default()] * 50)):
            cpu, wall = _time(pt, cfgs)
            rows.append({"trace": name, "configs": label, "cpu": cpu, "wall": wall, "n": pt.n})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=200)
    ap.add_argument("--processes", type=int, default=5, help="fresh processes to run (best and median)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.configs)))
        return
    runs = []
    for _ in range(max(1, args.processes)):
        out = subprocess.run([sys.executable, __file__, "--child", "--configs", str(args.configs)],
                             check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out))
    print(f"{args.processes} processes; cpu ms per evaluation (best / median), requests/s at the best")
    print(f"{'trace':>12} {'configs':>8} {'best':>8} {'median':>8} {'worst':>8} {'requests/s':>12}")
    for i, row in enumerate(runs[0]):
        cpu = sorted(r[i]["cpu"] for r in runs)
        print(f"{row['trace']:>12} {row['configs']:>8} {cpu[0] * 1e3:8.3f} {statistics.median(cpu) * 1e3:8.3f}"
              f" {cpu[-1] * 1e3:8.3f} {row['n'] / cpu[0]:12,.0f}")


if __name__ == "__main__":
    main()
