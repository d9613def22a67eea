"""Sweeps: experiment grids, executors (local processes or Dask) and an append-only store.

* :mod:`archlab.sweep.plan`: :class:`Experiment` (stable id), :func:`expand` from params.
* :mod:`archlab.problems`: problem factories by name (``dram``, ``accel``, ``synthetic``).
* :mod:`archlab.sweep.run`: :func:`run_sweep` with the ``local`` or ``dask`` executor.
* :mod:`archlab.sweep.store`: :class:`Store`, :func:`load_evaluations`, :func:`load_summaries`
  (column reference in that module's docstring).
* :mod:`archlab.cli.sweep`: ``archlab sweep run|status|compact``.
"""

from archlab.problems import make_problem, problem_names, register_problem
from archlab.sweep.plan import Experiment, expand
from archlab.sweep.run import SweepResult, run_experiment, run_sweep
from archlab.sweep.store import Store, load_evaluations, load_summaries

__all__ = ["Experiment", "Store", "SweepResult", "expand", "load_evaluations", "load_summaries",
           "make_problem", "problem_names", "register_problem", "run_experiment", "run_sweep"]
