"""params.yaml section ``accel_space`` (notebooks/accel_space.ipynb)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.core.params import Section


class AccelSpaceParams(Section):
    """The tabulated accelerator space (committed ZigZag tables) and a multi-objective search comparison."""

    tables: list[str] = Field(["accel/mobilenetv2-conv50", "accel/resnet18-conv13"], min_length=1,
                              description="table names accel/<net>-convN (data/accel_tables/)")
    objectives: list[str] = Field(["energy_pJ", "latency_cycles"], min_length=2, max_length=2,
                                  description="the two minimized metrics of the front")
    log_normalize: bool = Field(True, description="hypervolume on log10 objectives")
    hv_bounds: Literal["front", "table"] = Field("front", description="scale each objective to [0, 1] between "
                                                  "the exact front's ideal and nadir (front) or the table's min and max")
    ref: float = Field(1.1, gt=1.0, le=2.0, description="reference point in every normalized coordinate")
    mo_searchers: list[str] = Field(["nsga2"], description="searchers given both objectives (nsga2)")
    scalar_searchers: list[str] = Field(["ga", "tpe", "random_walk", "aco"],
                                        description="searchers given the scalar reward (scalarization)")
    baselines: list[str] = Field(["random"], description="searchers that ignore every feedback")
    scalarization: str = Field("edp", description="objective of the scalar reward (edp = equal-weight "
                               "log-sum of energy and latency), target = the table's exact optimum")
    budgets: list[int] = Field([10, 25, 50, 100], min_length=1, description="evaluations at which the "
                               "hypervolume ratio is read (the last is the run's budget)")
    seeds: int = Field(10, ge=1, le=1000, description="independent runs per searcher and table")
    claim_budget: int = Field(50, ge=1, description="budget of the multi-objective claim (one of budgets)")
    claim_margin: float = Field(0.0, description="NSGA-II must exceed each scalar searcher's mean "
                                "hypervolume ratio by more than this")
    bootstrap: int = Field(2000, ge=100, le=100000, description="bootstrap resamples of the CIs")
    recheck_rows: int = Field(2, ge=0, le=100, description="seeded rows per table re-run through ZigZag")
    seed_offset: int = Field(400, ge=0, description="added to common.seed for every random choice")
