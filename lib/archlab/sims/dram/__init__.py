"""DRAM memory-controller simulator (DRAMSys 4.0 + DRAMPower compatible) and design space."""

from archlab.sims.dram.config import DEFAULT_CONFIG, KNOBS, validate_config
from archlab.sims.dram.controller import DramResult, prepare, simulate, simulate_many
from archlab.sims.dram.problem import DramProblem
from archlab.sims.dram.specs import SPECS, MemSpec, get_spec
from archlab.sims.dram.trace import Trace, TraceError, generate_trace, read_trace, write_trace

__all__ = ["DEFAULT_CONFIG", "DramProblem", "KNOBS", "SPECS", "DramResult", "MemSpec", "Trace", "TraceError",
           "generate_trace", "get_spec", "prepare", "read_trace", "simulate", "simulate_many",
           "validate_config", "write_trace"]
