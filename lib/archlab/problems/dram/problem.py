"""``DramProblem``: the memory-controller design space as an archlab Problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from archlab.core.problem import BaseProblem, Metrics
from archlab.core.space import Config
from archlab.problems.dram.config import KNOBS, canonical_key
from archlab.problems.dram.controller import DramResult, prepare, simulate_many
from archlab.problems.dram.specs import get_spec
from archlab.problems.dram.trace import Trace, resolve_trace

OBJECTIVES = {"latency": "makespan_ns", "power": "avg_power_mW", "energy": "energy_pJ"}
MEMO_LIMIT = 500_000
DEFAULT_TARGET_FRACTION = 0.8
"""Default target: 80% of the default configuration's value for each objective."""


def parse_objective(objective: str) -> tuple[str, ...]:
    """``"latency+energy"`` -> ``("makespan_ns", "energy_pJ")`` (errors list the allowed names)."""
    parts = [p.strip() for p in str(objective).split("+")]
    bad = [p for p in parts if p not in OBJECTIVES]
    if bad or not parts:
        raise ValueError(f"unknown objective(s) {bad or [objective]}; allowed: {', '.join(OBJECTIVES)} "
                         "or a '+'-joined combination (e.g. latency+energy)")
    return tuple(dict.fromkeys(OBJECTIVES[p] for p in parts))


class DramProblem(BaseProblem):
    """Minimize makespan (``latency``), average power (``power``), energy (``energy``) or a
    ``+``-joined combination of a trace on a DRAM controller.

    ``trace``: a kind (``stream``, ``random``, ``mixed``, ``rw``), a public calibration name
    (``pub_stream``, ``pub_random``, ``pub_mixed``, ``pub_rw``), an ``.stl`` path or a
    :class:`Trace`. ``target``: a float (single objective) or a dict metric -> value;
    ``None`` means :data:`DEFAULT_TARGET_FRACTION` of the default configuration's value.
    ``trace_seed`` seeds generated kinds (default 0; ``pub_*`` names use their fixed seeds).
    ``evaluate`` is deterministic: the simulator has no randomness, so ``seed`` is ignored.
    """

    def __init__(self, trace: str | Path | Trace = "stream", objective: str = "latency",
                 target: float | Mapping[str, float] | None = None, spec: str = "DDR3-1600",
                 n_requests: int = 10_000, trace_seed: int | None = None) -> None:
        self.space = KNOBS
        self.spec = get_spec(spec)
        self.objective = str(objective)
        self.objectives = parse_objective(objective)
        self.trace = resolve_trace(trace, n=n_requests, seed=trace_seed)
        self.trace_label = trace.name if isinstance(trace, Trace) else str(trace)
        self.n_requests = len(self.trace)
        self.trace_seed = trace_seed
        self._prepared = prepare(self.trace, self.spec)
        self._cache: dict[tuple, Metrics] = {}
        self.target = self._resolve_target(target)

    def _resolve_target(self, target: float | Mapping[str, float] | None) -> dict[str, float]:
        if target is None:
            base = self.evaluate(KNOBS.default())
            return {m: DEFAULT_TARGET_FRACTION * base[m] for m in self.objectives}
        if isinstance(target, Mapping):
            unknown = sorted(set(target) - set(self.objectives))
            missing = sorted(set(self.objectives) - set(target))
            if unknown or missing:
                raise ValueError(f"target keys must be exactly the objectives {list(self.objectives)}; "
                                 f"unknown {unknown}, missing {missing}")
            out = {m: float(target[m]) for m in self.objectives}
        else:
            if len(self.objectives) != 1:
                raise ValueError(f"objective {self.objective!r} has {len(self.objectives)} metrics; "
                                 "give target as a dict metric -> value")
            out = {self.objectives[0]: float(target)}
        bad = {k: v for k, v in out.items() if not v > 0}
        if bad:
            raise ValueError(f"targets must be > 0, got {bad}")
        return out

    @staticmethod
    def _metrics(r: DramResult) -> Metrics:
        return {k: float(v) for k, v in r.as_dict().items()}

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:
        return self.evaluate_many([config], seed)[0]

    def evaluate_many(self, configs: Sequence[Config], seed: int = 0) -> list[Metrics]:
        """Batch path: the trace is decoded once and every configuration the simulator has
        not seen (up to :func:`~archlab.problems.dram.config.canonical_key`) runs the numba kernel;
        repeats are answered from a per-instance memo (results are deterministic)."""
        keys = [canonical_key(self.space.validate(c)) for c in configs]
        todo = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if todo:
            results = simulate_many(self._prepared, [dict(zip(self.space.names, k)) for k in todo])
            if len(self._cache) + len(todo) > MEMO_LIMIT:
                self._cache.clear()
            self._cache.update(zip(todo, (self._metrics(r) for r in results)))
        return [dict(self._cache[k]) for k in keys]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "trace": self.trace_label, "trace_digest": self.trace.digest(),
                "n_requests": self.n_requests, "trace_seed": self.trace_seed, "spec": self.spec.name,
                "objective": self.objective}
