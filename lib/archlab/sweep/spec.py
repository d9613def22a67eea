"""A generic sweep spec: problems x workloads x objectives x targets x searchers x hp draws x seeds.

:func:`archlab.sweep.plan.expand` accepts this model (or anything with the same fields). It was
the first lottery study's params section; ``archlab sweep run --section S`` runs any params
section with these fields.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from archlab.core.params import Section


class ProblemEntry(Section):
    """One problem family of the sweep: workloads x objectives x targets."""

    problem: str = Field(..., description="a registered problem: dram, accel, synthetic, table, or a plugin's")
    workloads: list[str] = Field(..., min_length=1, description="DRAM traces or accelerator workloads")
    objectives: list[str] = Field(["latency"], min_length=1, description="e.g. latency, power, latency+power")
    targets: list[float | str | dict[str, float] | None] = Field(
        ["q0.05"], min_length=1, description="number, metric->value, null (problem default) or 'qP' quantile")
    options: dict[str, Any] = Field({}, description="extra keyword arguments of the problem factory")

    @field_validator("problem")
    @classmethod
    def _registered(cls, name: str) -> str:
        from archlab.problems import problem_names

        if name not in problem_names():  # built-ins and installed plugins (archlab.problems entry points)
            from archlab.problems.registry import plugin_errors

            raise ValueError(plugin_errors().get(name) or f"unknown problem {name!r}; allowed: "
                             f"{', '.join(problem_names())}")
        return name


class SweepSpec(Section):
    """A sweep (size, hp sampling, targets)."""

    problems: list[ProblemEntry] = Field(..., min_length=1)
    searchers: list[str] = Field(..., min_length=1, description="registered searcher names")
    hp_sampling: Literal["random", "grid"] = "random"
    hp_draws: int = Field(8, ge=1, le=100000, description="random mode: draws per searcher (0 = defaults)")
    searcher_draws: dict[str, int] = Field({}, description="searcher -> hp_draws override (e.g. fewer for bo)")
    grid_levels: int = Field(3, ge=2, le=50, description="grid mode: levels per hyperparameter")
    fixed_hp: dict[str, dict[str, Any]] = Field({}, description="searcher -> pinned hyperparameters")
    hp_ranges: dict[str, dict[str, list[Any]]] = Field(
        {}, description="searcher -> hyperparameter -> [low, high] or allowed values (sampled range)")
    seeds: int = Field(3, ge=1, le=1000, description="searcher seeds common.seed + 0..seeds-1")
    budget: int = Field(100, ge=2, le=1000000, description="simulator evaluations per experiment")
    batch: int = Field(1, ge=1, le=4096, description="configurations asked per step")
    budget_checkpoints: list[int] = Field([10, 25, 50, 100], min_length=1,
                                          description="budgets at which target shares are reported")
    calibration_samples: int = Field(256, ge=8, le=1000000, description="random configs for 'qP' targets")
    ci: float = Field(0.95, gt=0, lt=1, description="confidence level of the bands over seeds")
    lottery_resamples: int = Field(2000, ge=10, le=1000000, description="Monte-Carlo hp draws in the lottery")
    executor: Literal["common", "local", "dask"] = Field("common", description="'common' = common.executor")
    progress: bool = True
