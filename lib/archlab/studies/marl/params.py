"""The ``marl`` section of params.yaml (validated)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from archlab.core.params import Section


class MarlParams(Section):
    """MARL vs single-agent PPO (ArchGym formulations), paired over tasks x seeds."""

    problem: Literal["table", "dram", "synthetic"] = Field(
        "table", description="problem family; 'table' = exact DRAM tables (data/dram_tables)")
    workloads: list[str] = Field(..., min_length=1, description="e.g. dram/stream for tables, stream for dram")
    objectives: list[str] = Field(["latency"], min_length=1, description="one objective name per task")
    options: dict[str, Any] = Field({}, description="extra keyword arguments of the problem factory")
    marl: str = Field("marl_archgym", description="registered searcher: one agent per knob")
    ppo: str = Field("ppo_archgym", description="registered searcher: single-agent PPO")
    hp: dict[str, Any] = Field({}, description="hyperparameters given to both searchers (shared keys)")
    observe: list[str] | None = Field(
        None, description="metrics the agents observe (told); null = every metric of the problem")
    steps: int = Field(10_000, ge=10, le=10_000_000, description="environment steps (evaluations) per run")
    seeds: int = Field(5, ge=1, le=1000, description="paired seeds per task: indices common.seed + seed_offset "
                       "+ 0.., each turned into a per-task searcher seed (sweep.plan.derive_seed)")
    seed_offset: int = Field(900, ge=0)
    curve_points: int = Field(100, ge=2, le=100_000, description="points kept of each best-so-far curve")
    enumerate_limit: int = Field(300_000, ge=1, description="non-table problems: enumerate the space up to this")
    ci: float = Field(0.95, gt=0, lt=1)
    bootstrap_resamples: int = Field(5000, ge=100, le=1_000_000)
    alpha: float = Field(0.05, gt=0, lt=1, description="test level for the Wilcoxon test and the MDE")
    power: float = Field(0.8, gt=0, lt=1, description="power at which the minimum detectable effect is given")
    equivalence_margin: float = Field(
        0.01, gt=0, le=1, description="|difference| below this (in normalized score) counts as no practical difference")
    workers: int | None = Field(None, ge=1, le=4096, description="processes; null = common.workers")
    label: str = Field("quick", description="profile label shown in the report (quick, standard, paper, smoke)")
