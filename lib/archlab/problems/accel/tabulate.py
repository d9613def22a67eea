"""Tabulate a declared subspace of the accelerator space with real ZigZag: evaluate once, look up forever.

A :class:`Subspace` (declared in :mod:`archlab.problems.accel.subspaces`) names, per knob of
:func:`~archlab.problems.accel.accel_space`, the values to keep (a knob left out is fixed at its
``tpu_like`` default), the workload layers and the ZigZag settings (LOMA ``lpf_limit``, mapper
criterion). :func:`tabulate_layer` evaluates the Cartesian product on one layer and writes it as
an archlab table (:mod:`archlab.problems.table`): ``<out>/<net>-convN.parquet`` plus a JSON
sidecar, so ``TableProblem("accel/<net>-convN", objective=...)`` answers it by lookup.

Rows: one per point, in the product's row-major order (the space's knob order): every knob,
every ZigZag metric and ``weight`` (1: every point is a distinct accelerator). The table's
metadata records the layer, the subspace, the ZigZag version, ``lpf_limit``, mapper, archlab's
cost-model version, the command and the CPU seconds of the ZigZag runs.

Resumable: every evaluation goes through the content-addressed
:class:`~archlab.problems.accel.cache.EvalCache`, so a killed run restarts where it stopped and
only the table assembly is repeated. Parallel over spawned processes (``executor="local"``) or
a Dask cluster (``executor="dask"``); a progress bar counts ZigZag runs.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archlab.core.space import Categorical, Config, Ordinal, Space, SpaceError
from archlab.problems.accel.engine import AccelEvalError, zigzag_version
from archlab.problems.accel.hardware import MODEL_VERSION, accel_space, check
from archlab.problems.accel.workloads import parse

#: metric columns of a table (the order written)
METRICS = ("energy_pJ", "latency_cycles", "edp", "area_mm2", "utilization", "mac_energy_pJ",
           "mem_energy_pJ", "dram_energy_pJ", "dram_traffic_bits", "ideal_cycles",
           "ideal_temporal_cycles", "macs", "n_layers")
OBJECTIVES_REF = "archlab.problems.accel.problem:parse_objective"


class SubspaceError(ValueError):
    """A subspace declaration that names an unknown knob, value or setting (the message says which)."""


def table_stem(workload: str) -> str:
    """File stem (and table name after ``accel/``) of a layer: ``mobilenetv2:conv50`` -> ``mobilenetv2-conv50``."""
    return parse(workload).name.replace(":", "-")


def table_name(workload: str) -> str:
    """``accel/<stem>``: the name ``TableProblem`` / ``make_problem("table", workload=...)`` takes."""
    return f"accel/{table_stem(workload)}"


@dataclass(frozen=True)
class Subspace:
    """Knob -> values kept (others fixed at the default), layers, ZigZag settings, and the
    ``module:attr`` reference of a function returning :meth:`space` (tables record it)."""

    name: str
    knobs: Mapping[str, tuple[Any, ...]]
    workloads: tuple[str, ...] = ()
    lpf_limit: int = 2
    mapper: str = "latency"
    space_ref: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        full = accel_space()
        knobs: dict[str, tuple] = {}
        for k, values in dict(self.knobs).items():
            try:
                dim = full[k]
            except SpaceError as e:
                raise SubspaceError(f"subspace {self.name!r}: {e}") from None
            vals = tuple(values) if isinstance(values, list | tuple) else (values,)
            bad = [v for v in vals if v not in dim.values]
            if not vals or bad or len(set(vals)) != len(vals):
                raise SubspaceError(f"subspace {self.name!r}: knob {k!r} values {list(vals)}: need distinct "
                                    f"values of {list(dim.values)}")
            knobs[k] = tuple(v for v in dim.values if v in vals)  # the space's own order
        for d in full:
            knobs.setdefault(d.name, (d.initial,))
        object.__setattr__(self, "knobs", {d.name: knobs[d.name] for d in full})
        object.__setattr__(self, "workloads", tuple(parse(w).name for w in self.workloads))
        if self.mapper not in ("latency", "energy", "EDP"):
            raise SubspaceError(f"subspace {self.name!r}: mapper {self.mapper!r}: allowed latency, energy, EDP")
        if not 1 <= int(self.lpf_limit) <= 8:
            raise SubspaceError(f"subspace {self.name!r}: lpf_limit {self.lpf_limit!r}: allowed 1..8")

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.knobs.values())

    @property
    def varied(self) -> list[str]:
        """The knobs with more than one value."""
        return [k for k, v in self.knobs.items() if len(v) > 1]

    def space(self) -> Space:
        """The accelerator space restricted to the kept values (a fixed knob has one value).
        Defaults: ``tpu_like``'s value where kept, else the first kept value."""
        dims = []
        for d in accel_space():
            vals = self.knobs[d.name]
            default = d.initial if d.initial in vals else vals[0]
            if isinstance(d, Ordinal):
                dims.append(Ordinal(d.name, levels=vals, default=default))
            else:
                dims.append(Categorical(d.name, choices=vals, default=default))
        return Space(dims)

    def points(self) -> list[Config]:
        """Every point, row-major in the space's knob order (the table's row order)."""
        names = list(self.knobs)
        return [dict(zip(names, combo)) for combo in itertools.product(*self.knobs.values())]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "knobs": {k: list(v) for k, v in self.knobs.items()},
                "workloads": list(self.workloads), "lpf_limit": int(self.lpf_limit), "mapper": self.mapper,
                "space": self.space_ref, "size": self.size}


# ---- evaluation ---------------------------------------------------------------------------
def _evaluate(args: tuple) -> tuple[str, Any, float]:
    """Worker: (problem kwargs, config) -> ("ok", metrics, cpu_s) or ("error", message, cpu_s)."""
    from archlab.problems.accel.problem import AccelProblem

    kwargs, config = args
    t0 = time.process_time()
    try:
        metrics = AccelProblem(**kwargs)._compute(config)
        return "ok", metrics, time.process_time() - t0
    except AccelEvalError as e:
        return "error", str(e), time.process_time() - t0


def _single_thread() -> None:
    import os

    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


def _local_map(fn: Callable, items: Sequence, workers: int) -> Iterator[tuple[int, Any]]:
    """(index, result) as they finish, over ``workers`` spawned processes (serial when 1)."""
    if workers <= 1 or multiprocessing.current_process().daemon:
        for i, it in enumerate(items):
            yield i, fn(it)
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = multiprocessing.get_context("spawn")
    todo = iter(enumerate(items))
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_single_thread) as pool:
        running = {pool.submit(fn, it): i for i, it in itertools.islice(todo, 4 * workers)}
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                i = running.pop(fut)
                yield i, fut.result()  # a dead worker raises BrokenProcessPool: a rerun resumes
                for j, it in itertools.islice(todo, 1):
                    running[pool.submit(fn, it)] = j


def _dask_map(fn: Callable, items: Sequence, workers: int, address: str | None) -> Iterator[tuple[int, Any]]:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, protocol="tcp",
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        futures = client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            yield index[fut.key], fut.result()
            fut.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass
class TableRun:
    """What :func:`tabulate_layer` did: the table path, points, ZigZag runs now and their CPU seconds."""

    workload: str
    path: Path
    points: int
    evaluated: int
    cached: int
    failed: int
    cpu_s: float
    written: bool


def _cpu_log(cache_root: Path) -> Path:
    return Path(cache_root).parent / "tabulate_cpu.jsonl"


def _read_cpu(cache_root: Path) -> dict[str, float]:
    """cache key -> CPU seconds of the ZigZag run that filled it (as logged by :func:`tabulate_layer`)."""
    out: dict[str, float] = {}
    p = _cpu_log(cache_root)
    if p.is_file():
        for line in p.read_text().splitlines():
            try:
                d = json.loads(line)
                out[d["key"]] = float(d["cpu_s"])
            except (ValueError, KeyError, TypeError):
                continue
    return out


def tabulate_layer(sub: Subspace, workload: str, out_dir: str | Path, *, workers: int = 1,
                   executor: str = "local", address: str | None = None, cache_root: str | Path | None = None,
                   progress: bool = True, limit: int | None = None) -> TableRun:
    """Evaluate ``sub`` on one layer (cache misses only) and write its table into ``out_dir``.

    ``limit``: at most this many new ZigZag runs; the table is written only once every point
    is known (a budgeted slice; the next call continues).
    """
    from tqdm.auto import tqdm

    from archlab.problems.accel.cache import cache_key
    from archlab.problems.accel.problem import AccelProblem

    problem = AccelProblem(workload, "energy", lpf_limit=sub.lpf_limit, mapper=sub.mapper,  # type: ignore[arg-type]
                           workers=1, cache_root=None if cache_root is None else str(cache_root))
    cache = problem._cache
    assert cache is not None
    points = [check(c) for c in sub.points()]
    keys = [cache_key(problem.identity(c)) for c in points]
    results: dict[int, dict[str, float]] = {}
    todo: list[int] = []
    for i, k in enumerate(keys):
        hit = cache.get(k)
        if hit is None:
            todo.append(i)
        else:
            results[i] = hit
    cached = len(results)
    if limit is not None:
        todo = todo[: max(0, int(limit))]
    kw = {**problem._kwargs(), "cache_root": str(cache.root)}
    items = [(kw, points[i]) for i in todo]
    if executor == "local":
        stream = _local_map(_evaluate, items, workers)
    elif executor == "dask":
        stream = _dask_map(_evaluate, items, workers, address) if items else iter(())
    else:
        raise ValueError(f"executor {executor!r}: allowed: local, dask")
    errors: dict[int, str] = {}
    cpu_now = 0.0
    bar = tqdm(total=len(todo), disable=not progress, desc=f"ZigZag {problem.workload.name}", unit="pt")
    with _cpu_log(cache.root).open("a") as log:
        for j, (status, value, cpu) in stream:
            i = todo[j]
            cpu_now += cpu
            if status == "ok":
                results[i] = value
                log.write(json.dumps({"key": keys[i], "cpu_s": round(cpu, 4)}) + "\n")
                log.flush()
            else:
                errors[i] = value
            bar.update(1)
    bar.close()
    path = Path(out_dir) / f"{table_stem(workload)}.parquet"
    run = TableRun(problem.workload.name, path, len(points), len(todo), cached, len(errors), cpu_now, False)
    if len(results) + len(errors) < len(points):  # a budgeted slice: not complete yet
        return run
    logged = _read_cpu(cache.root)
    cpu = [logged[k] for k in keys if k in logged]
    write_table(sub, problem.workload.name, points, [results.get(i) for i in range(len(points))], errors, path,
                cpu_s=round(float(sum(cpu)), 1) if len(cpu) == len(keys) else None)
    run.written = True
    return run


def write_table(sub: Subspace, workload: str, points: Sequence[Config], metrics: Sequence[dict | None],
                errors: Mapping[int, str], path: Path, cpu_s: float | None = None) -> Path:
    """Knobs, metrics and ``weight`` as an archlab table (:func:`archlab.problems.table.write_table`).

    A failed point keeps its row with NaN metrics (its reward is 0); the sidecar lists it.
    """
    from archlab.problems.table import write_table as write

    if not sub.space_ref:
        raise SubspaceError(f"subspace {sub.name!r} has no space_ref: declare it in "
                            "archlab.problems.accel.subspaces so a table can name its space")
    rows = []
    for c, m in zip(points, metrics):
        rows.append({**c, **{k: (float(m[k]) if m is not None else math.nan) for k in METRICS}, "weight": 1})
    frame = pd.DataFrame(rows)
    frame["weight"] = frame["weight"].astype("int64")
    version = zigzag_version()
    meta = {
        "name": table_name(workload),
        "kind": "accel",
        "workload": workload,
        "layer": parse(workload).description,
        "space": sub.space_ref,
        "objectives": OBJECTIVES_REF,
        "subspace": sub.to_dict(),
        "simulator": f"zigzag-dse {version}",
        "zigzag": version,
        "lpf_limit": int(sub.lpf_limit),
        "mapper": sub.mapper,
        "model": MODEL_VERSION,
        "failed": [{"row": int(i), "error": e} for i, e in sorted(errors.items())],
        "cpu_s": cpu_s,
        "command": f"archlab accel tabulate --subspace {sub.name} --workload {workload}",
    }
    return write(frame, path, meta)


# ---- checking a table against ZigZag ---------------------------------------------------------
class TableVersionError(RuntimeError):
    """A table made with a different ZigZag or cost-model version than the installed one."""


def check_versions(meta: Mapping[str, Any]) -> None:
    """Raise :class:`TableVersionError` naming both versions when the table was made with another
    ZigZag or archlab cost-model version than the installed one."""
    here = zigzag_version()
    if str(meta.get("zigzag")) != here or str(meta.get("model")) != MODEL_VERSION:
        raise TableVersionError(
            f"table {meta.get('name')!r} was made with zigzag-dse {meta.get('zigzag')} / cost model "
            f"{meta.get('model')}; installed: zigzag-dse {here} / cost model {MODEL_VERSION}. Install "
            f"zigzag-dse=={meta.get('zigzag')} or re-tabulate ({meta.get('command')})")


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` seeded rows (without replacement) with finite metrics."""
    ok = frame[np.isfinite(frame["energy_pJ"].to_numpy(float))]
    return ok.sample(min(int(n), len(ok)), random_state=int(seed))


def recheck(workload: str | Path, n: int, seed: int) -> pd.DataFrame:
    """Re-run ``n`` seeded rows of a table through ZigZag (no cache): one row per point with the
    table's and ZigZag's energy and latency. Raises :class:`TableVersionError` first when the
    versions differ (the numbers could differ for that reason alone)."""
    from archlab.problems.accel.engine import evaluate_point
    from archlab.problems.table import load_table

    table = load_table(workload)
    meta = table.meta
    check_versions(meta)
    layer = parse(meta["workload"])
    knobs = table.space.names
    out = []
    for _, row in sample_rows(table.frame, n, seed).iterrows():
        config = check({k: _py(row[k]) for k in knobs})
        m = evaluate_point(config, layer, lpf_limit=int(meta["lpf_limit"]), mapper=meta["mapper"])
        out.append({**config, "energy_table": float(row["energy_pJ"]), "energy_zigzag": m["energy_pJ"],
                    "latency_table": float(row["latency_cycles"]), "latency_zigzag": m["latency_cycles"]})
    return pd.DataFrame(out)


def _py(x: Any) -> Any:
    """numpy scalar -> Python scalar (bool/int/str as the space expects)."""
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return int(x) if float(x).is_integer() else float(x)
    return x
