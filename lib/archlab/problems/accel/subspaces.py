"""Declared, tabulated subspaces of the accelerator space (``archlab accel tabulate --subspace NAME``).

A table names its space by a ``module:attr`` reference to a function here, so the space a
``TableProblem`` searches is exactly the one that was tabulated. Why these values:
``docs/accel.md`` ("The tabulated subspace").
"""

from __future__ import annotations

from archlab.core.space import Space
from archlab.problems.accel.tabulate import Subspace, SubspaceError

#: 4 dataflows x 2 x 2 array shapes x 2^6 memory and bandwidth settings = 1024 points per layer;
#: systolic (true) and gb_bw_bits (2048) stay at their tpu_like values.
ACCEL_1024 = Subspace(
    name="accel-1024",
    knobs={
        "dataflow": ("K-C", "K-OX", "C-OX", "OX-OY"),
        "pe_rows": (8, 32),
        "pe_cols": (8, 32),
        "rf_w_bytes": (32, 256),
        "rf_i_bytes": (0, 32),
        "rf_o_bytes": (2, 16),
        "gb_kib": (128, 2048),
        "weights_in_gb": (False, True),
        "dram_bw_bits": (64, 256),
    },
    workloads=("mobilenetv2:conv50", "resnet18:conv13"),
    lpf_limit=2,
    mapper="latency",
    space_ref="archlab.problems.accel.subspaces:accel_1024",
    notes="a depthwise MobileNetV2 layer and a dense (1x1) ResNet-18 layer; LOMA lpf_limit 2",
)

#: a 4-point subspace for tests (two dataflows x two row counts)
TINY = Subspace(
    name="tiny",
    knobs={"dataflow": ("K-OX", "OX-OY"), "pe_rows": (8, 16)},
    workloads=("mobilenetv2:conv50",),
    lpf_limit=2,
    space_ref="archlab.problems.accel.subspaces:tiny",
)

SUBSPACES: dict[str, Subspace] = {s.name: s for s in (ACCEL_1024, TINY)}


def accel_1024() -> Space:
    return ACCEL_1024.space()


def tiny() -> Space:
    return TINY.space()


def get(name: str) -> Subspace:
    """The declared subspace ``name`` (the error lists the declared names)."""
    try:
        return SUBSPACES[name]
    except KeyError:
        raise SubspaceError(f"unknown subspace {name!r}; declared: {', '.join(SUBSPACES)}") from None
