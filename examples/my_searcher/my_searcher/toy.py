"""A toy design space as an archlab problem: a cache (size, associativity, line, policy) with
closed-form average memory access time and area. Deterministic and cheap (microseconds)."""

import math

from archlab.core.problem import BaseProblem
from archlab.core.space import Categorical, Ordinal, Space

# workload -> (working set in kB, spatial locality in [0, 1], default amat_ns target: about 5%
# of the 360 configurations meet it)
WORKLOADS = {"stream": (512.0, 0.9, 24.0), "pointer": (48.0, 0.1, 3.9), "loop": (24.0, 0.6, 3.7)}
OBJECTIVES = {"amat": ("amat_ns",), "area": ("area_mm2",), "amat+area": ("amat_ns", "area_mm2")}
POLICY_MISS = {"lru": 1.0, "fifo": 1.08, "random": 1.12}


class ToyCache(BaseProblem):
    """Cache design space: minimize amat_ns (and/or area_mm2) for a workload."""

    space = Space([
        Ordinal("size_kB", levels=(4, 8, 16, 32, 64, 128)),
        Ordinal("ways", levels=(1, 2, 4, 8, 16)),
        Ordinal("line_B", levels=(16, 32, 64, 128)),
        Categorical("policy", choices=("lru", "fifo", "random")),
    ])

    def __init__(self, workload="loop", objective="amat", target=None):
        if workload not in WORKLOADS or objective not in OBJECTIVES:
            raise ValueError(f"workload {workload!r} / objective {objective!r}: allowed "
                             f"{sorted(WORKLOADS)} / {sorted(OBJECTIVES)}")
        self.workload, self.objective = workload, objective
        self.objectives = OBJECTIVES[objective]
        if target is None:
            default = {"amat_ns": WORKLOADS[workload][2], "area_mm2": 0.05}
            target = {k: default[k] for k in self.objectives}
        elif not isinstance(target, dict):
            target = {k: float(target) for k in self.objectives}
        self.target = dict(target)

    def evaluate(self, config, seed=0):
        c = self.space.validate(config)
        ws, locality, _ = WORKLOADS[self.workload]
        capacity = min(1.0, c["size_kB"] / ws)
        conflict = 1.0 + 0.5 / c["ways"]
        spatial = (64 / c["line_B"]) ** locality * (1 + 0.2 * (c["line_B"] / 64 - 1) * (1 - locality))
        miss = min(1.0, (1 - 0.95 * capacity ** 0.5) * conflict * spatial * POLICY_MISS[c["policy"]])
        hit_ns = 0.4 + 0.15 * math.log2(c["size_kB"]) + 0.05 * math.log2(c["ways"])
        amat = hit_ns + miss * (40.0 + 0.1 * c["line_B"])
        area = 0.004 * c["size_kB"] * (1 + 0.06 * c["ways"]) + 0.0005 * c["line_B"]
        return {"amat_ns": round(amat, 9), "area_mm2": round(area, 9)}

    def describe(self):
        return {**super().describe(), "workload": self.workload}
