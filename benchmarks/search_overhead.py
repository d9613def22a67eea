"""Searcher overhead per ask/tell (the simulator excluded).

Space: 10 knobs like the DRAM controller's (categorical, ordinal, integer; 2-16 values).
Reward: a cheap closed-form function, so the timing is the searcher's own.

- non-model searchers (random, random_walk, ga, aco): median and mean ask+tell in µs
  over 2000 steps;
- tpe / nsga2: the same over 300 steps;
- ppo / marl: amortized µs per step over 512 steps (policy updates included) and the
  median step;
- bo: seconds per iteration from 200 observations on (mean over 10 iterations, so refits
  every ``refit_every`` steps are amortized; also the max).

Run: ``.venv/bin/python benchmarks/search_overhead.py [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from archlab import search
from archlab.core.space import Categorical, Integer, Ordinal, Space

SPACE = Space([
    Categorical("PagePolicy", choices=("Open", "OpenAdaptive", "Closed", "ClosedAdaptive")),
    Categorical("Scheduler", choices=("Fifo", "FrFcfsGrp", "FrFcfs")),
    Categorical("SchedulerBuffer", choices=("Bankwise", "ReadWrite", "Shared")),
    Ordinal("RequestBufferSize", levels=(1, 2, 4, 8, 16, 32, 64, 128)),
    Categorical("RespQueue", choices=("Fifo", "Reorder")),
    Categorical("RefreshPolicy", choices=("NoRefresh", "AllBank")),
    Integer("RefreshMaxPostponed", low=1, high=8),
    Integer("RefreshMaxPulledin", low=1, high=8),
    Categorical("Arbiter", choices=("Simple", "Fifo", "Reorder")),
    Ordinal("MaxActiveTransactions", levels=tuple(2**k for k in range(16))),
])
TARGET = SPACE.to_index(SPACE.sample(np.random.default_rng(0)))


def reward(config) -> float:
    return 1.0 / (1.0 + float(np.abs(SPACE.to_index(config) - TARGET).sum()))


def steps(name: str, n: int, **hp) -> list[float]:
    s = search.make(name, SPACE, seed=0, **hp)
    out = []
    for _ in range(n):
        c0 = None
        t = time.perf_counter()
        c0 = s.ask()
        t_ask = time.perf_counter() - t
        r = reward(c0)  # excluded from the timing
        t = time.perf_counter()
        s.tell(c0, r, {"cost_au": 1 / r})
        out.append(t_ask + time.perf_counter() - t)
    return out


def bo_seconds(iters: int = 10, n_obs: int = 200) -> tuple[float, float, float]:
    """(mean, max) seconds per iteration from ``n_obs`` observations on, and the cold first fit.

    As in a real run, the GP is already fitted when the timed window starts (5 warm-up
    iterations after ``n_obs - 5`` random observations), so refits are warm-started.
    """
    import botorch  # noqa: F401  (import time is not searcher overhead)

    s = search.make("bo", SPACE, seed=0)
    rng = np.random.default_rng(1)
    for _ in range(n_obs - 5):
        c = SPACE.sample(rng)
        s.tell(c, reward(c))
    t = time.perf_counter()
    for _ in range(5):
        c = s.ask()
        s.tell(c, reward(c))
    cold = time.perf_counter() - t
    ts = []
    for _ in range(iters):
        t = time.perf_counter()
        c = s.ask()
        s.tell(c, reward(c))
        ts.append(time.perf_counter() - t)
    return statistics.mean(ts), max(ts), cold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="searcher names")
    which = ap.parse_args().only or search.names()
    print(f"{'searcher':<12} {'median_us':>10} {'mean_us':>10}  note")
    for name in which:
        if name == "bo":
            mean, worst, cold = bo_seconds()
            print(f"{name:<12} {'':>10} {'':>10}  {mean:.2f} s/iteration at 200 observations "
                  f"(max {worst:.2f} s; warm-up incl. the cold fit {cold:.1f} s)")
            continue
        if name in ("ppo", "marl"):
            import torch  # noqa: F401  (import time is not searcher overhead)
        n = {"tpe": 300, "nsga2": 300, "ppo": 512, "marl": 512}.get(name, 2000)
        ts = steps(name, n)
        med, mean = statistics.median(ts) * 1e6, statistics.mean(ts) * 1e6
        note = "amortized incl. PPO updates" if name in ("ppo", "marl") else ""
        print(f"{name:<12} {med:>10.1f} {mean:>10.1f}  {note}", flush=True)


if __name__ == "__main__":
    main()
