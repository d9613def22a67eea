"""params.yaml section ``odt`` (on-device training); ``odt.pretrain`` drives the pretrain stage."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from archlab.core.params import Section

Model = Literal["mbv2-w0.35", "mcunet-5fps", "proxyless-w0.3"]


class PretrainParams(Section):
    """Pretraining on MNIST 5k (cached stage ``odt_pretrain`` -> data/odt_pretrain/)."""

    model: Model = "mbv2-w0.35"
    width: float = Field(1.0, gt=0, le=4, description="channel multiplier of the spec table")
    resolution: int = Field(32, ge=8, le=128, description="input size of the training experiments")
    depth: float = Field(1.0, gt=0, le=1, description="kept fraction of identity-shortcut blocks")
    transfer: Literal["new_classes", "domain"] = "new_classes"
    n_train: int = Field(2000, ge=16, le=4900)
    n_test: int = Field(400, ge=16, le=2500)
    epochs: int = Field(3, ge=1, le=200)
    batch: int = Field(64, ge=1, le=1024)
    lr: float = Field(3e-3, gt=0, le=1, description="Adam learning rate")
    threads: int = Field(2, ge=1, le=64)


class SearchParams(Section):
    """Contribution analysis and evolutionary search of sparse schemes."""

    bias_depths: list[int] = Field(default_factory=lambda: [6, 12, 25], min_length=1)
    base_bias: int = Field(25, ge=0, description="bias depth the weight contributions are measured on")
    layers: list[int] = Field(default_factory=lambda: [36, 42, 48])
    ratios: list[float] = Field(default_factory=lambda: [0.25, 1.0], min_length=1)
    epochs: int = Field(2, ge=1, le=100, description="fine-tuning epochs per contribution run")
    budgets_kb: list[float] = Field(default_factory=lambda: [32.0, 64.0, 128.0], min_length=1)
    population: int = Field(40, ge=4, le=10000)
    generations: int = Field(60, ge=1, le=10000)
    max_layers: int = Field(6, ge=0, le=64)


class MemoryParams(Section):
    """Memory model and measurement (full 128x128 tables, batch 1)."""

    n_bias: int = Field(25, ge=0)
    weights: list[int] = Field(default_factory=lambda: [27, 30, 33])
    ratios: list[float] = Field(default_factory=lambda: [1.0, 1.0, 0.5])
    measure: bool = Field(True, description="measure PyTorch peak memory with the profiler")

    @model_validator(mode="after")
    def _lengths(self) -> MemoryParams:
        if len(self.weights) != len(self.ratios):
            raise ValueError(f"weights ({len(self.weights)}) and ratios ({len(self.ratios)}) differ in length")
        return self


class OdtParams(Section):
    """On-device training study (quick profile by default)."""

    pretrain: PretrainParams = PretrainParams()
    threads: int = Field(2, ge=1, le=64, description="torch.set_num_threads")
    seed_offset: int = Field(800, ge=0, description="added to common.seed")
    n_train: int = Field(400, ge=8, le=880, description="fine-tuning images (digits)")
    n_test: int = Field(400, ge=8, le=880)
    epochs: int = Field(3, ge=1, le=200)
    batch: int = Field(32, ge=1, le=1024)
    lr: float = Field(0.01, gt=0, le=10, description="SGD / SGD-M / QAS learning rate")
    momentum: float = Field(0.9, ge=0, lt=1)
    adam_lr: float = Field(1.0, gt=0, le=100, description="Adam lr on the int8 graph, in integer units")
    opt_scheme: Literal["full", "last_k"] = Field("full", description="scheme of the optimizer comparison")
    last_k: list[int] = Field(default_factory=lambda: [6, 12, 24], min_length=1,
                              description="last-k-layers baselines (the largest k also drives the precision runs)")
    bias_only: list[int] = Field(default_factory=lambda: [12, 51], description="bias-only depths")
    precisions: list[Literal["fp32", "bf16", "fp16"]] = Field(default_factory=lambda: ["fp32", "bf16", "fp16"])
    loss_scale: float = Field(4096.0, gt=0)
    search: SearchParams = SearchParams()
    memory: MemoryParams = MemoryParams()
