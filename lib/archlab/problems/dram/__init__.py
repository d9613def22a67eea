"""DRAM memory-controller simulator (DRAMSys 4.0 + DRAMPower compatible) and design space."""

from archlab.problems.dram.config import DEFAULT_CONFIG, KNOBS, validate_config
from archlab.problems.dram.controller import DramResult, prepare, simulate, simulate_many
from archlab.problems.dram.problem import DramProblem
from archlab.problems.dram.specs import SPECS, MemSpec, get_spec
from archlab.problems.dram.trace import Trace, TraceError, generate_trace, read_trace, write_trace

__all__ = ["DEFAULT_CONFIG", "DramProblem", "KNOBS", "SPECS", "DramResult", "MemSpec", "Trace", "TraceError",
           "generate_trace", "get_spec", "prepare", "read_trace", "simulate", "simulate_many",
           "validate_config", "write_trace"]
