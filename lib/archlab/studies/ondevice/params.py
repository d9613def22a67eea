"""params.yaml section ``odt`` (on-device training); ``odt.pretrain`` drives the pretrain stage.

Every choice the study makes from data (learning rates, sparse-update contributions and
schemes, logistic-regression C) is made on the validation split; the test split is read
once, after all choices, over ``seeds`` fresh training seeds. Decision rules of the claims
are fixed here, before the run.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from archlab.core.params import Section

Model = Literal["mbv2-w0.35", "mcunet-5fps", "proxyless-w0.3"]
Mode = Literal["latent", "shadow", "int8"]
Head = Literal["float", "int8"]


class PretrainParams(Section):
    """Pretraining on MNIST 5k (cached stage ``odt_pretrain`` -> data/odt_pretrain/)."""

    model: Model = "mbv2-w0.35"
    width: float = Field(1.0, gt=0, le=4, description="channel multiplier of the spec table")
    resolution: int = Field(48, ge=8, le=128, description="input size of pretraining and fine-tuning")
    depth: float = Field(1.0, gt=0, le=1, description="kept fraction of identity-shortcut blocks")
    transfer: Literal["new_classes", "domain"] = "new_classes"
    n_train: int = Field(-1, ge=-1, le=4900, description="-1: every image of the classes not held out")
    n_heldout: int = Field(300, ge=16, le=2500, description="held-out images tracking convergence")
    epochs: int = Field(8, ge=1, le=200)
    batch: int = Field(64, ge=1, le=1024)
    lr: float = Field(5e-3, gt=0, le=1, description="Adam peak learning rate (one-cycle)")
    threads: int = Field(1, ge=1, le=64)


class Method(Section):
    """One fine-tuning configuration; its learning rate is chosen from its grid on validation."""

    id: str = Field(..., pattern=r"^[a-z0-9_]+$", description="stable id used in metrics")
    graph: Literal["fp32", "int8"] = "fp32"
    head: Head = "float"
    qas: bool = False
    mode: Mode = "latent"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    grid: Literal["real", "integer"] = Field("real", description="which learning-rate grid (lr_grid / lr_grid_integer)")

    @model_validator(mode="after")
    def _check(self) -> Method:
        if self.graph == "fp32" and (self.qas or self.head != "float"):
            raise ValueError(f"method {self.id}: qas/head apply to the int8 graph only")
        if self.graph == "int8" and self.precision != "fp32":
            raise ValueError(f"method {self.id}: reduced precision applies to the fp32 graph only")
        return self


def _qas_methods() -> list[Method]:
    return [
        Method(id="fp32"),
        Method(id="int8_noqas_latent", graph="int8", grid="integer"),
        Method(id="int8_qas_latent", graph="int8", qas=True),
        Method(id="int8_qas_shadow", graph="int8", qas=True, mode="shadow"),
        Method(id="int8_qas_int8", graph="int8", qas=True, mode="int8"),
        Method(id="int8head_noqas_latent", graph="int8", head="int8", grid="integer"),
        Method(id="int8head_qas_latent", graph="int8", head="int8", qas=True),
    ]


class QasParams(Section):
    """fp32 vs int8 without / with QAS (float or int8 head; latent / shadow / int8 updates)."""

    scheme: Literal["full", "last_k"] = Field("last_k", description="scheme the QAS comparison trains")
    k: int = Field(18, ge=1, description="convs of the last_k scheme")
    methods: list[Method] = Field(default_factory=_qas_methods, min_length=1)
    reference: str = Field("int8_qas_latent", description="the QAS method of the claim (the reference's setup)")
    baseline: str = Field("int8_noqas_latent", description="the no-QAS method of the claim")
    margin: float = Field(0.01, ge=0, le=1, description="rule: QAS closes the gap if CI(QAS - fp32) >= -margin")

    @model_validator(mode="after")
    def _ids(self) -> QasParams:
        ids = [m.id for m in self.methods]
        if len(set(ids)) != len(ids):
            raise ValueError(f"qas.methods: duplicate ids {ids}")
        for key in ("reference", "baseline"):
            if getattr(self, key) not in ids:
                raise ValueError(f"qas.{key}={getattr(self, key)!r} is not one of qas.methods ids {ids}")
        if "fp32" not in ids:
            raise ValueError("qas.methods needs the id 'fp32' (the float reference)")
        return self


class SparseParams(Section):
    """Sparse update: contributions on validation, scheme search, last-k at equal memory."""

    mode: Mode = Field("int8", description="update mode of the sparse runs (int8 = what the memory model counts)")
    head: Head = "float"
    bias_depths: list[int] = Field(default_factory=lambda: [6, 12, 18], min_length=1)
    base_bias: int = Field(18, ge=0, description="bias depth the weight contributions are measured on")
    layers: list[int] = Field(default_factory=lambda: [36, 39, 42, 45, 48])
    ratios: list[float] = Field(default_factory=lambda: [0.25, 1.0], min_length=1)
    contrib_epochs: int = Field(0, ge=0, le=200, description="epochs per contribution run (0: odt.epochs)")
    last_k: list[int] = Field(default_factory=lambda: [6, 12, 18], min_length=1,
                              description="last-k baselines; each one's memory is a search budget")
    claim_k: int = Field(12, ge=1, description="the last-k whose budget the 'beats last-k' claim uses")
    peak_budget_kib: float | None = Field(
        256.0, gt=0, description="constraint of the scheme search: modelled peak SRAM (KiB) of one int8 training "
        "step on the full 128x128 model, input image included (memory.step_peak_kib); schemes over it are "
        "infeasible; null: unconstrained (the second edition's search)")
    max_enumerate: int = Field(5000, ge=1, description="enumerate the scheme space up to this size, else evolve")
    population: int = Field(40, ge=4, le=10000)
    generations: int = Field(60, ge=1, le=10000)
    max_layers: int = Field(6, ge=0, le=64)
    n_check: int = Field(8, ge=0, le=200, description="random schemes trained to check predicted vs measured gain")
    match_margin: float = Field(0.01, ge=0, le=1,
                                description="rule: sparse matches full if CI(sparse - full) >= -match_margin")

    @model_validator(mode="after")
    def _claim_k(self) -> SparseParams:
        if self.claim_k not in self.last_k:
            raise ValueError(f"sparse.claim_k={self.claim_k} is not in sparse.last_k {self.last_k}")
        return self


class PrecisionParams(Section):
    """fp32 vs bf16 vs fp16 (dynamic loss scaling) on the last ``k`` convs of the fp32 graph."""

    precisions: list[Literal["fp32", "bf16", "fp16"]] = Field(default_factory=lambda: ["fp32", "bf16", "fp16"])
    k: int = Field(18, ge=1)
    loss_scale: float = Field(4096.0, gt=0)


class MemoryParams(Section):
    """Memory model and measurement (full 128x128 tables, batch 1)."""

    budget_kb: float = Field(256.0, gt=0, description="rule: the int8 engine's modelled peak SRAM <= budget_kb")
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
    threads: int = Field(1, ge=1, le=64, description="torch.set_num_threads (per worker)")
    workers: int = Field(1, ge=1, le=64, description="forked processes training independent runs (results unchanged)")
    seed_offset: int = Field(800, ge=0, description="added to common.seed")
    n_train: int = Field(350, ge=8, le=880, description="fine-tuning images (digits)")
    n_val: int = Field(200, ge=8, le=880)
    n_test: int = Field(300, ge=8, le=880)
    epochs: int = Field(15, ge=1, le=200, description="fine-tuning epochs (cosine schedule to 0)")
    batch: int = Field(32, ge=1, le=1024)
    momentum: float = Field(0.0, ge=0, lt=1, description="SGD momentum (0: as the memory model assumes)")
    lr_grid: list[float] = Field(default_factory=lambda: [0.005, 0.01, 0.02, 0.05, 0.1], min_length=1,
                                 description="learning rates in real units (fp32, bf16/fp16, int8 + QAS)")
    lr_grid_integer: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0, 100.0], min_length=1,
                                         description="learning rates of int8 without QAS (integer units)")
    tune_seeds: int = Field(1, ge=1, le=20, description="training seeds per learning rate on validation")
    seeds: int = Field(3, ge=1, le=50, description="fresh training seeds of the final test evaluation")
    logreg_c: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0], min_length=1,
                                  description="C grid of the logistic-regression ceilings (chosen on validation)")
    n_boot: int = Field(2000, ge=100, le=100000, description="bootstrap resamples of the CIs")
    qas: QasParams = QasParams()
    sparse: SparseParams = SparseParams()
    precision: PrecisionParams = PrecisionParams()
    memory: MemoryParams = MemoryParams()

    @model_validator(mode="after")
    def _grids(self) -> OdtParams:
        if len(self.lr_grid) != len(self.lr_grid_integer):
            raise ValueError(f"lr_grid ({len(self.lr_grid)}) and lr_grid_integer ({len(self.lr_grid_integer)}) "
                             "must have the same length: every method gets the same number of draws")
        return self
