"""The ``lottery`` section of params.yaml (validated).

The protocol (``protocol.py``) and the decision rules (``Rules``) live here so that
both are stated before any result exists; the notebook prints them before the results.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from archlab.core.params import Section


class TaskEntry(Section):
    """Tabulated tasks: every workload x objective, each answered exactly by its own table."""

    problem: Literal["table"] = "table"
    workloads: list[str] = Field(..., min_length=1, description="table names <kind>/<name>, e.g. dram/cloud-1")
    objectives: list[str] = Field(["latency"], min_length=1,
                                  description="DRAM: latency, energy, power, latency+energy; accel: energy, latency, edp")
    optional: bool = Field(False, description="skip workloads whose table does not exist (listed in the results)")
    build: Literal["none", "toy"] = Field("none", description="'toy': write the synthetic toy table first (smoke)")


class HpRule(Section):
    """Hyperparameter ranges sized so every draw can learn within the budget: the upper end
    of each listed hyperparameter is capped at ``fraction x budget`` (rounded down)."""

    rl_batch: float = Field(0.25, gt=0, le=1, description="ppo/marl batch <= budget x this (>= 4 policy updates)")
    population: float = Field(0.2, gt=0, le=1, description="ga/nsga2 population, aco ants <= budget x this (>= 5 generations)")
    init: float = Field(0.4, gt=0, le=1, description="bo n_init, tpe n_startup_trials <= budget x this")


class Rules(Section):
    """Decision rules, stated before the results (CIs are 95%: Clopper–Pearson for shares,
    hierarchical bootstrap over tasks then seeds for means)."""

    meet_share: float = Field(0.5, gt=0, lt=1, description=(
        "'tuned, every searcher meets the target': every non-baseline searcher's held-out tuned "
        "share has a lower bound >= this (not supported: some upper bound < this)"))
    lottery_disagreement: float = Field(0.5, gt=0, lt=1, description=(
        "'the winner is a lottery': P(random-draw winner != tuned winner) on the same task and "
        "held-out seed has a lower bound >= this (not supported: upper bound < this)"))
    model_based: list[str] = Field(["bo", "tpe"], description="searchers counted as model-based")
    model_based_share: float = Field(0.5, gt=0, lt=1, description=(
        "'model-based searchers win systematically': their share of held-out tuned wins has a "
        "lower bound >= this (not supported: upper bound < this)"))
    tuning_gain: float = Field(0.0, description=(
        "'tuning beats a random draw': mean held-out score gain (tuned - random draw) has a "
        "lower bound > this (not supported: upper bound <= this)"))
    alpha: float = Field(0.05, gt=0, lt=0.5, description="test level (Friedman, Holm)")
    power: float = Field(0.8, gt=0, lt=1, description="power for minimum detectable effects")


class LotteryParams(Section):
    """Study 1: the hyperparameter lottery under a held-out-seed protocol on exact tables."""

    tasks: list[TaskEntry] = Field(..., min_length=1)
    searchers: list[str] = Field(..., min_length=2, description="registered searcher names")
    baseline: str = Field("random", description="the analytic baseline (uniform random search)")
    p0: float = Field(0.3, gt=0, lt=1, description="target per task: random search's exact hit probability at the budget")
    max_p_random: float = Field(0.5, gt=0, le=1, description=(
        "a task is saturated (listed, not run or scored) when even its hardest target, the optimum, "
        "gives random search a hit probability above this"))
    budget: int = Field(60, ge=4, le=1_000_000, description="simulator evaluations per experiment")
    batch: int = Field(1, ge=1, le=4096, description="configurations asked per step")
    hp_draws: int = Field(8, ge=1, le=100_000, description="hp draws per searcher, the same for all (draw 0 = defaults)")
    hp_rule: HpRule = HpRule()
    hp_ranges: dict[str, dict[str, list[Any]]] = Field(
        {}, description="searcher -> hyperparameter -> [low, high] or allowed values (further narrowing)")
    fixed_hp: dict[str, dict[str, Any]] = Field({}, description="searcher -> pinned hyperparameters")
    tuning_seeds: int = Field(2, ge=1, le=1000, description="seeds common.seed + 0.. used to select the tuned draw")
    eval_seeds: int = Field(4, ge=1, le=10_000, description="fresh held-out seeds for the reported conditions")
    eval_seed_offset: int = Field(1000, ge=1, description="held-out seeds start at common.seed + this")
    rules: Rules = Rules()
    bootstrap: int = Field(2000, ge=100, le=1_000_000, description="hierarchical-bootstrap resamples")
    curve_bootstrap: int = Field(400, ge=50, le=100_000, description="resamples for best-so-far bands")
    curve_points: int = Field(40, ge=5, le=10_000, description="evaluations shown on best-so-far curves (log-spaced)")
    executor: Literal["common", "local", "dask"] = Field("common", description="'common' = common.executor")
    progress: bool = True

    @model_validator(mode="after")
    def _checks(self) -> LotteryParams:
        if self.baseline not in self.searchers:
            raise ValueError(f"baseline {self.baseline!r} must be one of searchers {self.searchers}")
        if self.eval_seed_offset < self.tuning_seeds:
            raise ValueError("eval_seed_offset must exceed tuning_seeds (held-out seeds are fresh)")
        return self
