"""Wall-clock per training step of fp32 / bf16 / fp16 fine-tuning on this x86 CPU, beside the
MAC counts per step.

NOT representative of an MCU FPU: x86 CPUs have no native fp16 arithmetic (PyTorch emulates or
converts), so reduced precision is often *slower* here; on a Cortex-M with an fp16/bf16 unit
the ratio would differ. The MAC counts (``archlab.ondevice.memory.train_macs``) are what
carries over. The study's accuracy comparison of the three formats is in ``notebooks/odt.ipynb``.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/odt_precision_speed.py [resolution] [k]
Prints the load average before/after, then per precision the median and p25 of 5 interleaved
passes of 20 steps (batch 32, last-k convs of mbv2-w0.35 at ``resolution`` px).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from archlab.ondevice.arch import arch
from archlab.ondevice.memory import train_macs
from archlab.ondevice.nets import Net
from archlab.ondevice.sparse import apply_scheme, last_k
from archlab.ondevice.train import DTYPES


def main(resolution: int = 48, k: int = 18, steps: int = 20, passes: int = 5) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    a = arch("mbv2-w0.35", resolution=resolution)
    s = last_k(a, k)
    base = apply_scheme(Net(a, 5, bn=False), s)
    x, y = torch.randn(32, 3, resolution, resolution), torch.randint(0, 5, (32,))
    nets = {p: base.to(DTYPES[p]) if p == "fp32" else apply_scheme(Net(a, 5, bn=False), s).to(DTYPES[p])
            for p in ("fp32", "bf16", "fp16")}
    print(f"load average before: {os.getloadavg()}")
    times: dict[str, list[float]] = {p: [] for p in nets}
    for _ in range(passes):  # interleaved across precisions
        for p, net in nets.items():
            xb = x.to(DTYPES[p])
            net(xb).float().sum().backward()  # warm-up
            t = time.perf_counter()
            for _ in range(steps):
                for q in net.parameters():
                    q.grad = None
                F.cross_entropy(net(xb).float(), y).backward()
            times[p].append((time.perf_counter() - t) / steps)
    m = train_macs(a, s)
    print(f"load average after: {os.getloadavg()}")
    print(f"mbv2-w0.35 @ {resolution}px, last {k} convs, batch 32; MACs per image-step: "
          f"forward {m['forward'] / 1e6:.2f} M, backward {(m['backward_input'] + m['backward_weight']) / 1e6:.2f} M")
    for p, ts in times.items():
        print(f"{p:5s} median {statistics.median(ts) * 1e3:7.1f} ms/step  p25 {sorted(ts)[len(ts) // 4] * 1e3:7.1f} ms/step"
              "  (x86, not an MCU FPU)")


if __name__ == "__main__":
    main(*(int(v) for v in sys.argv[1:3]))
