"""params.yaml section ``proxy``: the learned proxy cost model study."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from archlab.core.params import Section

ModelKind = Literal["rf", "gbr", "mlp"]


class ProxySearchParams(Section):
    """Searchers run on the proxy, their best configurations re-simulated."""

    searchers: list[str] = Field(["random"], min_length=1, description="registered searcher names")
    seeds: int = Field(3, ge=1, le=1000, description="seeds per searcher")
    budget: int = Field(500, ge=1, le=1_000_000, description="proxy evaluations per search run")
    top_k: int = Field(5, ge=1, le=100, description="distinct proxy-best configs re-simulated per run")
    workloads: list[str] = Field(["stream"], min_length=1, description="traces searched (one proxy each)")
    objective: str = Field("latency", description="problem objective searched")
    model: ModelKind | Literal["best"] = Field("best", description="proxy model searched; best = lowest held-out error")
    target_quantile: float = Field(0.05, gt=0.0, lt=1.0,
                                   description="target = this quantile of the objective over uniform random configs "
                                               "when the problem has no target of its own")


class MiniSweepParams(Section):
    """Fallback evaluation log when the lottery store is absent (smoke tests only)."""

    searchers: list[str] = Field(["random"], min_length=1)
    workloads: list[str] = Field(["stream", "random"], min_length=1)
    objective: str = "latency"
    seeds: int = Field(1, ge=1, le=100)
    budget: int = Field(50, ge=1, le=100_000)


class ProxyParams(Section):
    """Train proxies on the sweep's evaluations, test them, search on them, re-simulate."""

    store_study: str = Field("lottery", description="study whose data/<study>/ holds the sweep store")
    problem: str = Field("dram", description="value of the store's `problem` column to train on")
    missing_store: Literal["error", "mini_sweep"] = Field(
        "error", description="no sweep store: fail, or log a tiny sweep here (smoke tests)")
    mini_sweep: MiniSweepParams = MiniSweepParams()
    metrics: list[str] = Field(["makespan_ns", "energy_pJ", "avg_power_mW"], min_length=1)
    models: list[ModelKind] = Field(["rf", "gbr", "mlp"], min_length=1)
    rf_trees: int = Field(200, ge=1, le=5000)
    gbr_iter: int = Field(300, ge=1, le=10_000)
    mlp_hidden: list[int] = Field([64, 64], min_length=1)
    mlp_iter: int = Field(800, ge=10, le=100_000)
    test_fraction: float = Field(0.25, gt=0.0, lt=1.0, description="share of distinct configs held out")
    max_logged: int = Field(20_000, ge=10, description="cap on distinct logged configs per workload (seeded)")
    random_extra: int = Field(0, ge=0, le=1_000_000,
                              description="uniform random simulator evaluations added to training, per workload")
    random_test: int = Field(500, ge=0, le=1_000_000,
                             description="uniform random configs per workload for the distribution-shift test")
    speed_batch: int = Field(2000, ge=1, le=1_000_000, description="batch size of the throughput measurement")
    speed_repeats: int = Field(3, ge=1, le=100)
    search: ProxySearchParams = ProxySearchParams()

    @model_validator(mode="after")
    def _positive_layers(self) -> ProxyParams:
        if any(h < 1 for h in self.mlp_hidden):
            raise ValueError(f"mlp_hidden: every layer needs >= 1 unit, got {self.mlp_hidden}")
        return self
