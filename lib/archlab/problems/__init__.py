"""Design spaces as Problems, in one registry: ``make_problem(name, workload=, objective=, target=)``.

Packages: ``dram`` (DRAMSys-exact kernel), ``accel`` (ZigZag), ``synthetic`` (cheap test
problems), ``proxy`` (a learned model standing in for a simulator); see
:mod:`archlab.problems.registry`.
"""

from archlab.problems.registry import make_problem, problem_module, problem_names, register_problem

__all__ = ["make_problem", "problem_module", "problem_names", "register_problem"]
