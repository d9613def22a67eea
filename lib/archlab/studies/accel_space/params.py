"""params.yaml section ``accel_space`` (notebooks/accel_space.ipynb)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from archlab.core.params import Section


class AccelSpaceParams(Section):
    """A seeded random sample of the accelerator space on a few workloads."""

    workloads: list[str] = Field(["resnet18:conv2"], min_length=1,
                                 description="workload names (resnet18:conv2, mobilenetv2:conv50, resnet18...)")
    n_samples: int = Field(24, ge=2, le=5000, description="random design points per workload")
    sensitivity_workload: str | None = Field(None, description="workload of the one-knob-at-a-time sweep "
                                             "around the tpu_like default (null: the first workload)")
    sensitivity_knobs: list[str] | None = Field(None, description="knobs to sweep (null: all)")
    lpf_limit: int = Field(4, ge=1, le=8, description="ZigZag LOMA loop-prime-factor limit")
    mapper: Literal["latency", "energy", "EDP"] = "latency"
    workers: int | None = Field(None, ge=1, le=64, description="processes (null: common.workers)")
    seed_offset: int = Field(400, ge=0, description="added to common.seed for the sample")
