"""The sweep results store: one parquet file per finished experiment, compacted on demand.

Layout of a store folder (``data/lottery/store/`` for the lottery study)::

    parts/<experiment_id>.parquet     one finished experiment (written to a temp name, renamed)
    compact-<digest>.parquet          many experiments merged by :meth:`Store.compact`
    calibration/<key>.json            cached target calibrations (see ``archlab.sweep.plan``)
    failures/<experiment_id>.json     experiments that raised (error text); skipped on rerun
    planned.json                      ids of the latest sweep's experiment list (sorted)

A part appears only by ``os.replace`` of a fully written temp file, so a sweep killed at
any moment (SIGKILL included) leaves either the whole experiment or nothing. Compaction
writes the merged file first and deletes the parts afterwards; a crash in between leaves
an experiment twice on disk, which every reader drops (rows are de-duplicated by
``experiment_id``, first copy wins; copies are identical). Only the sweep driver writes.

Results of experiments no longer planned (other params, or other code: the id hashes both)
stay in the store so nothing computed is lost; ``planned_only=True`` reads only the ids in
``planned.json``.

``load_evaluations(path_or_dir)`` -> one row per evaluation, columns:

==================  ==========================================================================
experiment_id       16-hex stable id (hash of problem spec, target, searcher, hp, seed, budget)
problem             problem factory name (``dram``, ``accel``, ``synthetic``)
workload            trace / workload name (``stream``, ``resnet18:conv2``, ...)
objective           objective spec as given (``latency``, ``energy``, ``latency+power``)
target              resolved numeric targets as a JSON object string (``{"latency_ns": 41.0}``)
target_spec         the target as written in params (``q0.05``, a number, or ``default``)
searcher            searcher name (``random``, ``ga``, ``ppo``, ...)
hp                  resolved hyperparameters (defaults filled in) as a canonical JSON string
hp_draw             index of the hyperparameter draw (0 = the searcher's declared defaults)
seed                searcher seed
budget              evaluations in the experiment
step                0 .. budget-1, evaluation order
knob.<Name>         one column per design knob (value as evaluated)
<metric>            one column per metric the problem returns (units in the name)
reward              the problem's reward in [0, 1] (1 = every target met)
best_reward         best reward so far within the experiment
==================  ==========================================================================

Knob columns of different problems are disjoint and metric columns may differ between
problems; a mixed store therefore has NaN where a column does not apply (filter by
``problem`` first). ``load_summaries`` -> one row per experiment: the identity columns
above (no ``step``/knobs/metrics) plus ``best_reward``, ``met_target`` (best reward == 1),
``steps_to_target`` (first step reaching reward 1, NaN if never), ``best_cost`` (lowest
geometric mean of the objective metrics, see ``objective_metrics``), ``best_step``,
``objective_metrics`` (JSON list of metric names), ``wall_s`` and ``cpu_s`` (experiment wall
and worker CPU time; the only non-deterministic columns, absent from ``load_evaluations``).
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

KNOB_PREFIX = "knob."
ID_COLUMNS = ["experiment_id", "problem", "workload", "objective", "target", "target_spec",
              "searcher", "hp", "hp_draw", "seed", "budget"]
WALL = "exp_wall_s"  # per-experiment wall time stored in parts; exposed as summaries.wall_s
CPU = "exp_cpu_s"  # per-experiment CPU time of the worker process; exposed as summaries.cpu_s
OBJ = "objective_metrics"  # JSON list of the objective metric names, stored per row


class StoreError(RuntimeError):
    """A store file is unreadable (the message names it)."""


def _atomic_write(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _to_table(df: pd.DataFrame) -> pa.Table:
    """Arrow table; object columns of mixed types (e.g. knob values 1 and "auto") become str."""
    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object:
            kinds = {type(v) for v in df[c] if v is not None}
            if len(kinds) > 1:
                df[c] = df[c].map(lambda v: None if v is None else str(v))
    return pa.Table.from_pandas(df, preserve_index=False)


class Store:
    """A results store folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"

    def ensure(self) -> Store:
        self.parts.mkdir(parents=True, exist_ok=True)
        return self

    def clean_tmp(self) -> int:
        """Remove temp files a killed writer left behind (call only when no writer runs)."""
        stale = [*self.root.glob(".*.tmp"), *self.parts.glob(".*.tmp"), *self.root.glob("failures/.*.tmp")]
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    # -- writing (driver only) ------------------------------------------------------------
    def write(self, experiment_id: str, frame: pd.DataFrame) -> Path:
        """Atomically add one finished experiment (its full trajectory)."""
        self.ensure()
        path = self.parts / f"{experiment_id}.parquet"
        _atomic_write(_to_table(frame), path)
        return path

    def write_plan(self, experiment_ids: Iterable[str]) -> Path:
        """Record the ids of the current sweep's experiment list (atomic JSON)."""
        self.ensure()
        path = self.root / "planned.json"
        tmp = self.root / ".planned.json.tmp"
        tmp.write_text(json.dumps(sorted(set(experiment_ids))))
        os.replace(tmp, path)
        return path

    def planned_ids(self) -> set[str] | None:
        """The ids :meth:`write_plan` recorded last, or None if no sweep recorded a plan."""
        path = self.root / "planned.json"
        return set(json.loads(path.read_text())) if path.is_file() else None

    def write_failure(self, experiment_id: str, experiment: dict, error: BaseException) -> Path:
        """Record an experiment that raised (atomic, JSON with the error text)."""
        folder = self.root / "failures"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{experiment_id}.json"
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps({"experiment": experiment, "error": f"{type(error).__name__}: {error}"},
                                  default=str, indent=1))
        os.replace(tmp, path)
        return path

    def failed_ids(self) -> set[str]:
        folder = self.root / "failures"
        return {p.stem for p in folder.glob("*.json")} if folder.is_dir() else set()

    def failures(self) -> list[dict]:
        folder = self.root / "failures"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def clear_failures(self) -> None:
        for p in (self.root / "failures").glob("*.json"):
            p.unlink()

    def compact(self) -> Path | None:
        """Merge every part and compacted file into one compacted file; remove the inputs."""
        parts = self._part_files()
        compacted = self._compact_files()
        if len(parts) == 0 and len(compacted) <= 1:
            return compacted[0] if compacted else None
        out = self._write_compact(self._read_all(compacted + parts))
        for p in compacted + parts:
            if p != out:
                p.unlink(missing_ok=True)
        return out

    def prune(self, keep: set[str], dry_run: bool = False) -> set[str]:
        """Delete every stored experiment whose id is not in ``keep`` (e.g. the current plan);
        returns the ids deleted (or, with ``dry_run``, that would be)."""
        parts = [p for p in self._part_files() if p.stem not in keep]
        gone = {p.stem for p in parts}
        for path in self._compact_files():
            ids = set(pq.read_table(path, columns=["experiment_id"]).column(0).unique().to_pylist())
            if ids <= keep:
                continue
            gone |= ids - keep
            if not dry_run:
                frame = self._read_all([path])
                if ids & keep:
                    self._write_compact(frame[frame["experiment_id"].isin(keep)])
                path.unlink()
        if not dry_run:
            for p in parts:
                p.unlink(missing_ok=True)
        return gone

    def _write_compact(self, frame: pd.DataFrame) -> Path:
        """Write ``frame`` as a compacted file named by the digest of its ids (atomic)."""
        ids = sorted(frame["experiment_id"].unique())
        out = self.root / f"compact-{hashlib.sha256(chr(10).join(ids).encode()).hexdigest()[:16]}.parquet"
        if not out.exists():
            _atomic_write(_to_table(frame), out)
        return out

    # -- reading ----------------------------------------------------------------------------
    def _part_files(self) -> list[Path]:
        return sorted(self.parts.glob("*.parquet")) if self.parts.is_dir() else []

    def _compact_files(self) -> list[Path]:
        return sorted(self.root.glob("compact-*.parquet")) if self.root.is_dir() else []

    def done_ids(self) -> set[str]:
        """Ids of every finished experiment."""
        ids = {p.stem for p in self._part_files()}
        for p in self._compact_files():
            ids.update(pq.read_table(p, columns=["experiment_id"]).column(0).unique().to_pylist())
        return ids

    def _read_all(self, files: Iterable[Path], columns: Iterable[str] | None = None) -> pd.DataFrame:
        frames = []
        want = None if columns is None else list(dict.fromkeys(["experiment_id", "step", *columns]))
        for p in files:
            try:
                cols = None if want is None else [c for c in want if c in pq.read_schema(p).names]
                frames.append(pq.read_table(p, columns=cols).to_pandas())
            except (OSError, pa.ArrowInvalid) as e:
                raise StoreError(f"{p}: unreadable store file: {e}") from None
        if not frames:
            return pd.DataFrame(columns=[*ID_COLUMNS, "step"])
        frame = pd.concat(frames, ignore_index=True, sort=False)
        # a crash during compaction can leave an experiment both in a part and a compacted file
        frame = _dedupe(frame)
        return frame.sort_values(["experiment_id", "step"], kind="stable").reset_index(drop=True)

    def read(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Every stored evaluation (including the internal columns), de-duplicated.

        ``columns``: read only these (plus ``experiment_id`` and ``step``) where present."""
        return self._read_all(self._compact_files() + self._part_files(), columns)


def _dedupe(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop repeated (experiment_id, step) rows: copies of one experiment are identical."""
    return frame.drop_duplicates(["experiment_id", "step"], keep="first")


def _store_of(path_or_dir: str | Path) -> Store:
    p = Path(path_or_dir)
    if (p / "store").is_dir() and not (p / "parts").is_dir():
        p = p / "store"  # accept data/lottery as well as data/lottery/store
    if not p.exists():
        raise FileNotFoundError(f"no sweep store at {p}")
    return Store(p)


def load_evaluations(path_or_dir: str | Path, columns: Iterable[str] | None = None,
                     planned_only: bool = False) -> pd.DataFrame:
    """One row per evaluation (columns in the module docstring), sorted by id and step.

    ``columns``: load only these columns (plus ``experiment_id``, ``step``) to save memory.
    ``planned_only``: only experiments of the latest sweep's plan (``planned.json``), if any."""
    store = _store_of(path_or_dir)
    frame = store.read(columns)
    planned = store.planned_ids() if planned_only else None
    if planned is not None:
        frame = frame[frame["experiment_id"].isin(planned)].reset_index(drop=True)
    return frame.drop(columns=[c for c in (WALL, CPU, OBJ) if c in frame.columns])


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-experiment summary of a store frame (as returned by :meth:`Store.read`)."""
    if frame.empty:
        return pd.DataFrame(columns=[*ID_COLUMNS, "best_reward", "met_target", "steps_to_target",
                                     "best_cost", "best_step", OBJ, "wall_s", "cpu_s"])
    frame = frame.copy()
    frame["_cost"] = _cost(frame)
    g = frame.groupby("experiment_id", sort=True)
    first = g.first()
    out = first[[c for c in ID_COLUMNS if c != "experiment_id"] + [OBJ]].copy()
    out["best_reward"] = g["reward"].max()
    out["met_target"] = out["best_reward"] >= 1.0
    hit = frame[frame["reward"] >= 1.0].groupby("experiment_id")["step"].min()
    out["steps_to_target"] = hit.reindex(out.index).astype(float) + 1.0
    out["best_cost"] = g["_cost"].min()
    out["best_step"] = frame.loc[g["_cost"].idxmin(), ["experiment_id", "step"]].set_index(
        "experiment_id")["step"]
    out["wall_s"] = first[WALL] if WALL in first.columns else np.nan
    out["cpu_s"] = first[CPU] if CPU in first.columns else np.nan
    return out.reset_index()


def _cost(frame: pd.DataFrame) -> pd.Series:
    """Geometric mean of each row's objective metrics (all objectives are minimized)."""
    cost = pd.Series(np.nan, index=frame.index)
    for spec, idx in frame.groupby(OBJ).groups.items():
        names = json.loads(spec)
        vals = frame.loc[idx, names].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            cost.loc[idx] = np.exp(np.log(np.maximum(vals, 1e-300)).mean(axis=1))
    return cost


def load_summaries(path_or_dir: str | Path) -> pd.DataFrame:
    """One row per experiment (columns in the module docstring)."""
    return summarize(_store_of(path_or_dir).read())
