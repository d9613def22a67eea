"""``AccelProblem``: a DNN accelerator on ZigZag as an archlab Problem."""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from archlab.core.problem import BaseProblem, Metrics
from archlab.core.space import Config, Space
from archlab.problems.accel.cache import EvalCache, cache_key
from archlab.problems.accel.engine import AccelEvalError, Mapper, evaluate_point, zigzag_version
from archlab.problems.accel.hardware import MODEL_VERSION, accel_space, check
from archlab.problems.accel.workloads import parse

#: objective name -> metric name
OBJECTIVES = {"energy": "energy_pJ", "latency": "latency_cycles", "edp": "edp", "area": "area_mm2"}
#: default target = this fraction of the tpu_like reference (the space's default point)
DEFAULT_TARGET_FRACTION = 0.5


def parse_objective(objective: str) -> tuple[str, ...]:
    """``"energy"``, ``"energy+latency"`` ... -> metric names."""
    parts = [p.strip().lower() for p in str(objective).split("+") if p.strip()]
    bad = [p for p in parts if p not in OBJECTIVES]
    if not parts or bad:
        raise ValueError(f"objective {objective!r}: unknown part(s) {bad}; allowed: "
                         f"{', '.join(OBJECTIVES)} or '+'-joined combinations")
    return tuple(dict.fromkeys(OBJECTIVES[p] for p in parts))


def _worker(args: tuple) -> tuple[str, Any]:
    """Process-pool entry point (module level, so spawn can import it)."""
    problem_kwargs, config = args
    try:
        return "ok", AccelProblem(**problem_kwargs)._compute(config)
    except AccelEvalError as e:
        return "error", str(e)


class AccelProblem(BaseProblem):
    """Choose a DNN accelerator (array, dataflow, memories) for one workload, scored by ZigZag.

    ``workload``: ``resnet18:conv2``, ``mobilenetv2:conv50``, ``resnet18`` (whole network)...
    ``objective``: ``energy``, ``latency``, ``edp``, ``area`` or a ``+``-joined combination.
    ``target``: metric -> value to reach; ``None`` means :data:`DEFAULT_TARGET_FRACTION` (0.5)
    times the ``tpu_like`` reference (the space's default point) on the same workload, i.e.
    "halve the TPU-like baseline"; it is evaluated lazily (and cached) on first use.
    ``lpf_limit`` and ``mapper`` are ZigZag's LOMA loop-prime-factor limit and mapping criterion.
    ``workers``: processes of ``evaluate_many`` (``None``: CPU count; serial inside a daemonic
    pool worker). ``cache_root``: cache folder (``None``: ``paths.cache_dir("accel")/evals``).
    Metrics: ``energy_pJ``, ``latency_cycles``, ``edp`` (pJ x cycles), ``area_mm2`` (on-chip
    area from archlab's model, not ZigZag's) and diagnostics (``dram_traffic_bits``,
    ``ideal_cycles``, ``utilization``, energy breakdown).
    """

    def __init__(self, workload: str = "resnet18:conv2", objective: str = "energy",
                 target: Mapping[str, float] | None = None, *, lpf_limit: int = 4,
                 mapper: Mapper = "latency", workers: int | None = None, cache: bool = True,
                 cache_root: str | None = None) -> None:
        self.workload = parse(workload)
        self.objective = str(objective)
        self.objectives = parse_objective(objective)
        if mapper not in ("latency", "energy", "EDP"):
            raise ValueError(f"mapper {mapper!r}: allowed: latency, energy, EDP")
        if not 1 <= int(lpf_limit) <= 8:
            raise ValueError(f"lpf_limit {lpf_limit!r}: allowed 1..8")
        self.lpf_limit, self.mapper = int(lpf_limit), mapper
        self.workers = workers
        self.cache_root = cache_root
        self._cache = EvalCache(cache_root) if cache else None
        self.space: Space = accel_space()
        self._target = None if target is None else self._check_target(target)

    def _check_target(self, target: Mapping[str, float]) -> dict[str, float]:
        bad = sorted(set(target) - set(self.objectives))
        if bad:
            raise ValueError(f"target keys {bad} are not objectives; objectives: {list(self.objectives)}")
        return {k: float(target[k]) for k in self.objectives if k in target} or self._default_target()

    def _default_target(self) -> dict[str, float]:
        ref = self.evaluate(self.space.default())
        return {k: DEFAULT_TARGET_FRACTION * ref[k] for k in self.objectives}

    @property
    def target(self) -> dict[str, float]:  # type: ignore[override]
        if self._target is None:
            self._target = self._default_target()
        return self._target

    # ---- evaluation -------------------------------------------------------------------
    def _kwargs(self) -> dict[str, Any]:
        return {"workload": self.workload.name, "objective": self.objective, "target": self._target,
                "lpf_limit": self.lpf_limit, "mapper": self.mapper, "workers": 1,
                "cache": self._cache is not None,
                "cache_root": str(self._cache.root) if self._cache is not None else None}

    @functools.cached_property
    def _version(self) -> str:
        return zigzag_version()

    def identity(self, config: Config) -> dict[str, Any]:
        """Everything an evaluation depends on (hashed into the cache key)."""
        return {"config": config, "workload": self.workload.name, "lpf_limit": self.lpf_limit,
                "mapper": self.mapper, "zigzag": self._version, "model": MODEL_VERSION}

    def _compute(self, config: Config) -> Metrics:
        """Validated config -> metrics, through the cache."""
        ident = self.identity(config)
        key = cache_key(ident)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            return hit
        metrics = evaluate_point(config, self.workload, lpf_limit=self.lpf_limit, mapper=self.mapper)
        if self._cache is not None:
            self._cache.put(key, ident, metrics)
        return metrics

    def cached(self, config: Config) -> Metrics | None:
        """The cached metrics of ``config``, or ``None`` (never runs ZigZag)."""
        if self._cache is None:
            return None
        return self._cache.get(cache_key(self.identity(check(config))))

    def evaluate(self, config: Config, seed: int = 0) -> Metrics:
        """Metrics of one point (``seed`` is ignored: ZigZag is deterministic).

        Raises ``SpaceError``/``InvalidAccelConfig`` for points outside the space and
        :class:`AccelEvalError` when ZigZag fails.
        """
        return self._compute(check(config))

    def evaluate_many(self, configs: Sequence[Config], seed: int = 0) -> list[Metrics]:
        """Validate all, serve cache hits, fan the distinct misses out over spawned processes."""
        checked = [check(c) for c in configs]
        results: dict[int, Metrics] = {}
        misses: dict[str, list[int]] = {}
        for i, c in enumerate(checked):
            key = cache_key(self.identity(c))
            hit = self._cache.get(key) if self._cache is not None else None
            if hit is not None:
                results[i] = hit
            else:
                misses.setdefault(key, []).append(i)
        todo = [idx[0] for idx in misses.values()]
        workers = min(len(todo), self.workers or os.cpu_count() or 1)
        if multiprocessing.current_process().daemon:  # a daemonic pool worker may not have children
            workers = 1
        errors: list[str] = []
        if workers <= 1:
            for i in todo:
                try:
                    results[i] = self._compute(checked[i])
                except AccelEvalError as e:
                    errors.append(str(e))
        else:
            kw = self._kwargs()
            try:
                ctx = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
                    outs = list(pool.map(_worker, [(kw, checked[i]) for i in todo]))
            except BrokenProcessPool as e:
                raise AccelEvalError(f"a ZigZag worker process died on {self.workload.name}: {e}") from e
            for i, (status, value) in zip(todo, outs):
                if status == "ok":
                    results[i] = value
                else:
                    errors.append(value)
        if errors:
            raise AccelEvalError(f"{len(errors)} of {len(todo)} evaluations failed; first: {errors[0]}")
        for idx in misses.values():
            for j in idx[1:]:
                results[j] = results[idx[0]]
        return [dict(results[i]) for i in range(len(checked))]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "workload": self.workload.name, "lpf_limit": self.lpf_limit,
                "mapper": self.mapper, "zigzag": zigzag_version(), "model": MODEL_VERSION}
