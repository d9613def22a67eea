"""Peak memory of one training step (batch 1, 128x128, full tables): schedule model vs PyTorch.

Run: .venv/bin/python benchmarks/odt_memory.py [model ...]
Prints, per backbone and scheme (full update; sparse = n_bias 26-from-end, weights 27,30,33 at
ratios 1,1,0.5), the analytic extra memory, the schedule-level model of the fp32 framework and
of the int8 engine, and the measured PyTorch fp32 step (profiler memory timeline), in KiB.
"""

from __future__ import annotations

import sys
import time

import torch
from archlab.ondevice.arch import MODELS, arch
from archlab.ondevice.memory import extra_memory, measure_step, schedule_peak
from archlab.ondevice.nets import Net
from archlab.ondevice.sparse import Scheme, apply_scheme, full


def main(models: list[str]) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    print(f"{'model':15s} {'scheme':7s} {'analytic':>9s} {'fw model':>9s} {'measured':>9s} {'engine':>9s} {'s':>5s}")
    for m in models:
        a = arch(m)
        net = Net(a, 10, bn=False)
        x, y = torch.randn(1, 3, 128, 128), torch.tensor([1])
        for name, s in (("full", full(a)), ("sparse", Scheme(a.n_convs - 26, (27, 30, 33), (1.0, 1.0, 0.5)))):
            t = time.perf_counter()
            meas = measure_step(apply_scheme(net, s), x, y)["peak_B"] / 1024
            print(f"{m:15s} {name:7s} {extra_memory(a, s)['extra_memory_kb']:9.1f} "
                  f"{schedule_peak(a, s, 'framework')['peak_B'] / 1024:9.1f} {meas:9.1f} "
                  f"{schedule_peak(a, s, 'tte')['peak_B'] / 1024:9.1f} {time.perf_counter() - t:5.1f}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
