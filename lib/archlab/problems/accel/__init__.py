"""DNN-accelerator design space scored by ZigZag (KU Leuven's analytical DSE simulator).

``AccelProblem(workload="resnet18:conv2", objective="energy", target=None)`` is the
entry point; :func:`accel_space` the design space; :mod:`.workloads` the layers.
"""

from archlab.problems.accel.engine import AccelEvalError
from archlab.problems.accel.hardware import (
    InvalidAccelConfig,
    accel_space,
    area_mm2,
    check,
    hardware_description,
    mapping_description,
)
from archlab.problems.accel.problem import OBJECTIVES, AccelProblem, parse_objective
from archlab.problems.accel.workloads import REPRESENTATIVE, WorkloadError, list_workloads
from archlab.problems.accel.workloads import parse as parse_workload

__all__ = [
    "AccelEvalError", "AccelProblem", "InvalidAccelConfig", "OBJECTIVES", "REPRESENTATIVE",
    "WorkloadError", "accel_space", "area_mm2", "check", "hardware_description", "list_workloads",
    "mapping_description", "parse_objective", "parse_workload",
]
