"""``gemm`` section of params.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from archlab.core.params import Section

Dtype = Literal["float32", "float64"]
Layout = Literal["nn", "nt", "tn", "tt"]
Shape = tuple[int, int, int]


class CpuSweep(Section):
    """Host CPU harness: numba tiled kernel over tiles, BLAS over libs/threads/dtypes/layouts;
    pinned, interleaved passes, load logged, loaded visits re-measured."""

    m: list[int] = Field([64, 128, 256, 512, 1024], min_length=1, description="M values of the shape grid")
    n: list[int] = Field([64, 128, 256, 512, 1024], min_length=1)
    k: list[int] = Field([64, 128, 256, 512, 1024], min_length=1)
    max_shapes: int | None = Field(None, ge=2, description="seeded random subset of the grid")
    tiles: list[int] = Field([4, 16, 64], min_length=1)
    tiled_dtype: Dtype = "float32"
    tiled_max_flops: float | None = Field(3e8, gt=0, description="tiled kernel only on shapes up to this many FLOPs")
    blas: list[Literal["numpy", "torch"]] = ["numpy"]
    threads: list[int] = Field([1], min_length=1)
    dtypes: list[Dtype] = ["float32", "float64"]
    layouts: list[Layout] = ["nn"]
    passes: int = Field(3, ge=1, le=20, description="interleaved passes over all configurations")
    samples: int = Field(3, ge=1, le=100, description="timed samples per visit")
    warmup: int = Field(1, ge=0, le=100)
    min_time_s: float = Field(0.005, ge=0, le=10, description="each timed sample lasts at least this long")
    stat: Literal["min", "p25", "median"] = Field("min", description="statistic over all samples of a row")
    core: int = Field(-1, description="core to pin to (-1: the last allowed core)")
    load_max: float = Field(1.0, gt=0, description="a visit is loaded when loadavg per core exceeds this")
    steal_max: float = Field(5.0, ge=0, description="... or steal exceeds this %")
    preempt_max: float = Field(0.5, ge=0, le=1, description="... or more than this share of samples was preempted")
    remeasure_rounds: int = Field(1, ge=0, le=10, description="extra rounds for rows mostly taken under load")
    pass_gap_s: float = Field(0.0, ge=0, description="pause between passes (spreads them in time)")
    sensor: Literal["auto", "none", "rapl"] = "auto"


class CudaSweep(Section):
    """GPU sweep (run on a GPU machine: `archlab gemm measure --backend cuda --reference`)."""

    shapes: list[Shape] = [(2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 1024), (1024, 8192, 4096)]
    blocks: list[Shape] = [(32, 32, 32), (64, 64, 32), (128, 128, 32), (128, 64, 64)]
    warps: list[int] = [4, 8]
    stages: list[int] = [3]
    dtypes: list[Literal["float32", "float16", "bfloat16"]] = ["float32", "float16"]
    precision: Literal["ieee", "tf32"] = Field(
        "ieee", description="fp32 matmul precision on BOTH sides (Triton input_precision and torch allow_tf32)")
    repeats: int = Field(20, ge=1, description="CUDA-event timed launches (L2 flushed before each)")
    flush_l2: bool = Field(True, description="write an L2-sized buffer between timed launches")
    duration_s: float = Field(10.0, ge=10.0, description="steady repeated-kernel loop for power (>= 10 s)")
    settle_s: float = Field(1.0, ge=0, description="discarded start of the NVML samples (1 s averaging)")
    interval_s: float = Field(0.02, gt=0, description="NVML polling interval (power, clocks, temperature)")
    cooldown_tol_w: float = Field(5.0, gt=0, description="cool down until power is within this of idle")
    cooldown_max_s: float = Field(60.0, ge=0, description="give up cooling down after this long (logged)")
    idle_s: float = Field(2.0, ge=0, description="idle power measured once at the start, s")
    sensor: Literal["nvml", "none", "auto"] = "nvml"


class Contamination(Section):
    """Busy-window rule, symmetric over the sweep; stated before any result."""

    busy_pct: float = Field(50.0, ge=0, le=100, description="a row is busy when utilisation at its sample exceeds this")
    frac: float = Field(0.5, gt=0, le=1, description="contaminated when this share of the window is busy")
    window_min: float = Field(30.0, gt=0, description="centred time window, minutes")
    sens_busy_pct: list[float] = [25.0, 50.0, 75.0]
    sens_frac: list[float] = [0.25, 0.5, 0.75]
    sens_window_min: list[float] = [10.0, 30.0, 60.0]


class ModelParams(Section):
    """Evaluation protocol and model hyperparameters."""

    folds: int = Field(5, ge=0, description="grouped CV folds over shapes; 0 = leave-one-shape-out")
    shuffles: int = Field(10, ge=1, description="repeats of the grouped CV with different fold shuffles")
    test_size: float = Field(0.2, gt=0, lt=1, description="GPPerf's random split (reproduction only)")
    split_seed: int = Field(42, ge=0, description="GPPerf's random_state for the 80/20 split")
    rf_trees: int = Field(100, ge=10, description="GPPerf: 100 trees, depth 6")
    gbm_depths: list[int] = Field([3], min_length=1, description="boosting depth grid (tuned inside training shapes)")
    gbm_trees: list[int] = Field([200], min_length=1)
    gbm_learning_rate: float = Field(0.05, gt=0, le=1)
    inner_folds: int = Field(3, ge=2, description="grouped inner folds for tuning (when the grid has > 1 point)")
    bootstrap: int = Field(1000, ge=100, description="bootstrap resamples over shapes for 95% CIs")
    interval_level: float = Field(0.9, gt=0, lt=1, description="prediction-interval level (split-conformal)")


class Rules(Section):
    """Decision rules, fixed before the results."""

    rf_random_r2_paper: float = Field(0.98, description="GPPerf: RF runtime R^2 on the random split")
    reproduce_tol: float = Field(0.03, ge=0, description="reproduced when our random-split R^2 >= paper - tol")
    heldout_r2_min: float = Field(0.9, description="'predicts held-out shapes': log-runtime R^2 CI above this")
    margin_metric: Literal["median_ape", "p90_ape", "r2_log"] = "median_ape"
    cpu_goal_ape: float = Field(10.0, gt=0, description="CPU goal: held-out median error <= this (%) in each run")
    cpu_goal_agree: float = Field(2.0, gt=0, description="... and the two runs of a pair agree within this (points)")


class GemmParams(Section):
    """GEMM study: GPPerf reanalysis with baselines and held-out protocols, host CPU harness."""

    gpperf_archive: str | None = Field(
        "../shared/datasets/gpperf-rtx4070/cutlass_profiling_20241111_195357.tar.gz",
        description="GPPerf CUTLASS archive, relative to the repo root; null or missing -> section skipped")
    gpperf_tiled_time: str | None = Field(None, description="GPPerf execution_times CSV (optional)")
    gpperf_tiled_power: str | None = Field(None, description="GPPerf power_usage CSV (optional)")
    gpperf_max_rows: int | None = Field(None, ge=100, description="seeded subsample of the archive (smoke)")
    test_shapes: list[Shape] = Field(
        [(512, 2048, 1024), (1024, 512, 2048), (2048, 1024, 512), (1024, 2048, 2048), (128256, 1024, 1024)],
        description="GPPerf final test shapes, fixed before any model choice; read once")
    cpu_test_shapes: list[Shape] = Field(
        [(128, 512, 256), (512, 64, 1024), (1024, 256, 128), (256, 1024, 512)],
        description="CPU final test shapes (must be in the measured grid)")
    measure_cpu: bool = Field(True, description="measure a small CPU sweep inside the stage (cpu)")
    cpu_runs: list[tuple[str, str]] = Field(
        [("run-a", "run-b"), ("run-c", "run-d")],
        description="pairs of committed full harness runs of one harness (data/gemm/cpu_runs/<name>.csv); "
                    "every run is scored, every pair judged for agreement")
    baseline_tile: int = Field(16, ge=1, description="tile the speedups are measured against")
    contamination: Contamination = Contamination()
    cpu: CpuSweep = CpuSweep()
    cpu_full: CpuSweep = CpuSweep()
    cuda: CudaSweep = CudaSweep()
    model: ModelParams = ModelParams()
    rules: Rules = Rules()

    @field_validator("cpu_runs")
    @classmethod
    def _distinct_runs(cls, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for a, b in pairs:
            if a == b:
                raise ValueError(f"a pair compares two different runs; got [{a}, {b}]")
        return pairs
