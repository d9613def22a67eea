"""Fidelity of archlab.problems.dram against the 280 public DRAMSys 4.0 runs.

Prints, per trace and metric, the Spearman rank correlation and the median / max
|relative error|, over all 70 configurations and over the 30 random ones alone.

    .venv/bin/python benchmarks/dram_fidelity.py
"""

from __future__ import annotations

import pandas as pd
from archlab.problems.dram.calibration import compare, summary


def main() -> None:
    cmp = compare()
    table = summary(cmp)
    pd.set_option("display.width", 160)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    exact = (cmp["err_makespan_ns"].abs() < 1e-9).mean()
    print(f"\nexact makespan on {exact:.1%} of the {len(cmp)} runs; "
          f"worst makespan error {cmp['err_makespan_ns'].abs().max():.3%}, "
          f"worst energy error {cmp['err_energy_pJ'].abs().max():.3%}")


if __name__ == "__main__":
    main()
