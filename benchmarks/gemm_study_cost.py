"""Cost of the GEMM study's quick profile (what `dvc repro gemm` runs), and of one CPU harness run.

Usage: python benchmarks/gemm_study_cost.py [--profile quick|smoke]
Prints wall and process CPU seconds of `archlab.studies.gemm.run.run(P, C)` (outputs go to a
temporary ARCHLAB_OUT) with the 1-minute load average before and after: on a shared host the
CPU seconds are the number to compare, the wall seconds depend on the load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="quick", choices=["quick", "smoke"])
    a = ap.parse_args()
    os.environ.setdefault("ARCHLAB_OUT", tempfile.mkdtemp(prefix="gemm_cost_"))
    from archlab.core import params
    from archlab.gemm import cpu
    from archlab.studies.gemm import run

    P = params.load_section("gemm", smoke=a.profile == "smoke")
    C = params.load_section("common")
    la0 = cpu.loadavg()
    t0, c0 = time.time(), time.process_time()
    R = run.run(P, C)
    wall, cpu_s = time.time() - t0, time.process_time() - c0
    print(f"gemm {a.profile}: wall {wall:.0f} s, process CPU {cpu_s:.0f} s, claims {len(R.claims)}, "
          f"load avg {la0} -> {cpu.loadavg()} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
