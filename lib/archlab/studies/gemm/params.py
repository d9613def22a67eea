"""``gemm`` section of params.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.core.params import Section

Dtype = Literal["float32", "float64"]
Layout = Literal["nn", "nt", "tn", "tt"]


class CpuSweep(Section):
    """Host CPU sweep: numba tiled kernel over tiles, BLAS over libs/threads/dtypes/layouts."""

    m: list[int] = Field([64, 128, 192, 256], min_length=1, description="M values of the shape grid")
    n: list[int] = Field([64, 128, 192, 256], min_length=1)
    k: list[int] = Field([64, 128, 192, 256], min_length=1)
    max_shapes: int | None = Field(None, ge=2, description="seeded random subset of the grid")
    tiles: list[int] = Field([1, 2, 4, 8, 16, 32, 64], min_length=1)
    tiled_dtype: Dtype = "float32"
    blas: list[Literal["numpy", "torch"]] = ["numpy", "torch"]
    threads: list[int] = Field([1, 2], min_length=1)
    dtypes: list[Dtype] = ["float32", "float64"]
    layouts: list[Layout] = ["nn", "tn"]
    warmup: int = Field(1, ge=0, le=100)
    repeats: int = Field(5, ge=1, le=1000)
    min_time_s: float = Field(0.01, ge=0, le=10, description="each timed sample lasts at least this long")
    sensor: Literal["auto", "none", "rapl"] = "auto"


class CudaSweep(Section):
    """GPU sweep (run on a GPU machine: `archlab gemm measure --backend cuda --reference`)."""

    shapes: list[tuple[int, int, int]] = [(2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 1024),
                                          (1024, 8192, 4096)]
    blocks: list[tuple[int, int, int]] = [(32, 32, 32), (64, 64, 32), (128, 128, 32), (128, 64, 64)]
    warps: list[int] = [4, 8]
    stages: list[int] = [3]
    dtypes: list[Literal["float32", "float16", "bfloat16"]] = ["float32", "float16"]
    repeats: int = Field(20, ge=1)
    duration_s: float = Field(2.0, gt=0, description="steady repeated-kernel loop per configuration")
    idle_s: float = Field(0.5, ge=0)
    settle_s: float = Field(1.0, ge=0, description="discarded start of the loop (NVML 1 s averaging)")
    interval_s: float = Field(0.02, gt=0)
    sensor: Literal["nvml", "none", "auto"] = "nvml"


class ModelParams(Section):
    """ML evaluation."""

    folds: int = Field(5, ge=0, description="grouped CV folds over shapes; 0 = leave-one-shape-out")
    test_size: float = Field(0.2, gt=0, lt=1)
    split_seed: int = Field(42, ge=0, description="GPPerf's random_state for the 80/20 split")
    gbm_trees: int = Field(200, ge=10)
    rf_trees: int = Field(100, ge=10)


class GemmParams(Section):
    """GEMM study: host measurement, GPPerf reanalysis, models."""

    gpperf_archive: str | None = Field(
        "../shared/datasets/gpperf-rtx4070/cutlass_profiling_20241111_195357.tar.gz",
        description="GPPerf CUTLASS archive, relative to the repo root; null or missing -> section skipped")
    gpperf_tiled_time: str | None = Field(None, description="GPPerf execution_times CSV (optional)")
    gpperf_tiled_power: str | None = Field(None, description="GPPerf power_usage CSV (optional)")
    gpperf_max_rows: int | None = Field(None, ge=100, description="seeded subsample of the archive (smoke)")
    measure_cpu: bool = True
    baseline_tile: int = Field(16, ge=1, description="tile the speedups are measured against")
    cpu: CpuSweep = CpuSweep()
    cuda: CudaSweep = CudaSweep()
    model: ModelParams = ModelParams()
