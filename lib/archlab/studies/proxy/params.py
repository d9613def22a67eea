"""params.yaml section ``proxy``: a learned proxy of the DRAM simulator, measured against the
exact tables (every distinct configuration of a trace simulated, ``data/dram_tables``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from archlab.core.params import Section

ModelKind = Literal["rf", "gbr", "mlp"]


class HeldoutParams(Section):
    """Leave one trace out: train on the others' tables, rank the held-out trace's whole space."""

    n_train: int = Field(4000, ge=10, le=1_000_000, description="training simulations per training trace")
    model: ModelKind = "gbr"
    metric: str = "makespan_ns"


class ProxySearchParams(Section):
    """Search on the proxy, simulations counted: n_train to train + one per verified candidate."""

    objective: str = Field("latency", description="DRAM objective searched (one metric)")
    p0: float = Field(0.5, gt=0.0, lt=1.0, description="target: uniform random search meets it within "
                                                        "`budget` simulations with probability p0 (exact)")
    budget: int = Field(2000, ge=1, le=10_000_000)
    train_sizes: list[int] = Field([250, 1000, 4000], min_length=1, description="simulations used to train")
    claim_train: int = Field(1000, ge=1, description="the training size the claim is decided at (one of train_sizes)")
    seeds: int = Field(3, ge=1, le=1000, description="training samples per (table, size)")
    model: ModelKind = "gbr"
    max_verify: int = Field(20_000, ge=1, description="candidates simulated at most (then the run failed)")


class ProxyClaimParams(Section):
    """Decision rules, stated before the run."""

    max_nrmse_pct: float = Field(1.0, gt=0, description="accuracy claim: nRMSE % upper CI bound at most this")
    min_spearman: float = Field(0.9, gt=-1, le=1, description="held-out trace claim: Spearman lower CI bound")
    min_speedup: float = Field(1.0, gt=0, description="search claim: random / proxy simulations, lower CI bound above")
    ci: float = Field(0.95, gt=0.5, lt=1.0)
    bootstrap: int = Field(2000, ge=100, le=100_000)


class ProxyParams(Section):
    """Learning curve over whole spaces, held-out-trace ranking, and search with training counted."""

    tables: list[str] = Field(["dram/pub_random"], min_length=1,
                              description="table workloads (see the dram_tables section for their names)")
    build_here: bool = Field(False, description="build small tables here instead of reading data/dram_tables "
                                                "(smoke tests: dram/<trace> names the trace)")
    build_requests: int = Field(200, ge=1, description="requests of a table built here")
    build_limit: int | None = Field(None, ge=10, description="configurations of a table built here")
    metrics: list[str] = Field(["makespan_ns"], min_length=1, description="metrics learned (learning curve)")
    models: list[ModelKind] = Field(["gbr"], min_length=1)
    rf_trees: int = Field(100, ge=1, le=5000)
    gbr_iter: int = Field(200, ge=1, le=10_000)
    mlp_hidden: list[int] = Field([64, 64], min_length=1)
    mlp_iter: int = Field(300, ge=10, le=100_000)
    train_sizes: list[int] = Field([250, 1000, 4000, 16000], min_length=1,
                                   description="learning curve: distinct training simulations")
    repeats: int = Field(1, ge=1, le=100, description="training samples per (table, model, size)")
    heldout: HeldoutParams = HeldoutParams()
    search: ProxySearchParams = ProxySearchParams()
    claims: ProxyClaimParams = ProxyClaimParams()

    @model_validator(mode="after")
    def _check(self) -> ProxyParams:
        if any(h < 1 for h in self.mlp_hidden):
            raise ValueError(f"mlp_hidden: every layer needs >= 1 unit, got {self.mlp_hidden}")
        if any(n < 10 for n in self.train_sizes):
            raise ValueError(f"train_sizes must be >= 10, got {self.train_sizes}")
        if self.search.claim_train not in self.search.train_sizes:
            raise ValueError(f"search.claim_train {self.search.claim_train} is not in search.train_sizes "
                             f"{self.search.train_sizes}")
        return self
