"""Speed of the DRAM simulator: ms per 10,000-request evaluation on one core.

For each public trace, times ``simulate_many`` over random configurations of the ten-knob
space (after a warm-up that compiles the numba kernel) and the DRAMSys default. Reports
CPU time (process time: robust to other processes sharing the machine) and wall time.

    .venv/bin/python benchmarks/dram_speed.py [--configs 200]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

from archlab.sims.dram import KNOBS, prepare, simulate_many  # noqa: E402

TRACES = ("pub_stream", "pub_random", "pub_mixed", "pub_rw")


def _time(pt, configs) -> tuple[float, float]:
    c0, w0 = time.process_time(), time.perf_counter()
    simulate_many(pt, configs)
    return (time.process_time() - c0) / len(configs), (time.perf_counter() - w0) / len(configs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=200)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    configs = KNOBS.sample_many(rng, args.configs)
    print(f"{'trace':>12} {'configs':>13} {'cpu ms/eval':>12} {'wall ms/eval':>13} {'requests/s (cpu)':>17}")
    for name in TRACES:
        pt = prepare(name)
        simulate_many(pt, configs[:2])  # compile / load the cached kernel
        for label, cfgs in (("random", configs), ("default", [KNOBS.default()] * 50)):
            cpu, wall = _time(pt, cfgs)
            print(f"{name:>12} {label:>13} {cpu * 1e3:12.3f} {wall * 1e3:13.3f} {pt.n / cpu:17,.0f}")


if __name__ == "__main__":
    main()
