"""Glue for the lottery notebook: run the planned sweep, load exactly its results."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from archlab.core import paths
from archlab.studies.lottery import analysis
from archlab.sweep import Experiment, Store, SweepResult, expand, run_sweep
from archlab.sweep.store import CPU, ID_COLUMNS, OBJ, WALL, summarize


@dataclass
class Study:
    store: Store
    experiments: list[Experiment]
    result: SweepResult
    summaries: pd.DataFrame  # prepared (task, norm_best) and restricted to the planned ids

    @property
    def ids(self) -> set[str]:
        return {e.id for e in self.experiments}

    def evaluations(self, ids: set[str] | None = None) -> pd.DataFrame:
        """Evaluations of the planned experiments (or ``ids``), objective metrics only."""
        metrics = sorted({m for t in self.summaries["target"].unique() for m in json.loads(t)})
        ev = self.store.read(columns=["target", *metrics])
        return ev[ev["experiment_id"].isin(ids if ids is not None else self.ids)]


def run(P: Any, C: Any, section: str = "lottery") -> Study:
    """Expand ``P`` (a LotteryParams) with ``C.seed``, run what is missing, load the results."""
    store = Store(paths.data_dir(section) / "store")
    store.ensure()
    experiments = expand(P, C.seed, cache=store.root / "calibration")
    executor = C.executor if P.executor == "common" else P.executor
    result = run_sweep(experiments, store, executor=executor, workers=C.workers, address=C.dask_address,
                       progress=P.progress)
    ids = {e.id for e in experiments}
    metrics = sorted({m for e in experiments for m in e.target})  # the objective metrics
    frame = store.read(columns=[*ID_COLUMNS, "reward", OBJ, WALL, CPU, *metrics])
    s = summarize(frame[frame["experiment_id"].isin(ids)])
    return Study(store, experiments, result, analysis.prepare(s) if len(s) else s)
