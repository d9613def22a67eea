"""Exact DRAM tables: every distinct controller configuration simulated on one trace.

``build_table("cloud-1")`` enumerates the ten-knob space (1,769,472 raw points), keeps one
configuration per class of :func:`table_key` (432,640 distinct), simulates them all with
the numba kernel in a process pool, and writes ``data/dram_tables/<name>.parquet`` (see
:mod:`archlab.problems.table` for the format and :class:`~archlab.problems.table.TableProblem`
for its use). Work is split into chunks that are written atomically to a cache folder
(``.cache/archlab/dram_tables/``, outside DVC's outputs); a rerun skips finished chunks, so
an interrupted build resumes. A chunk is valid only for the same trace content, spec,
request count and simulator sources (their digest names the chunk folder).

Simulator-identical knobs (:func:`table_key`) beyond :func:`~archlab.problems.dram.config.canonical_key`
(refresh bounds without refresh; ``MaxActiveTransactions`` with the ``Simple`` arbiter):

* ``RequestBufferSize = 1``: ``Scheduler`` and ``SchedulerBuffer`` do nothing. The
  ``Bankwise`` counter tests the bank of the *last admitted* request (as DRAMSys'
  ``BufferCounterBankwise`` does), ``ReadWrite`` needs both counts below 1 and ``Shared``
  the total below 1; by induction at most one request is ever buffered and all three admit
  exactly when the buffer is empty. With one buffered request every scheduler picks it.
* ``Arbiter = Reorder``: ``RespQueue`` does nothing. Column commands are issued with data
  bursts strictly ordered in time (tCCD >= 1, read-to-write and write-to-read turnarounds), so
  responses become ready in strictly increasing order of issue: the ``Fifo`` response queue
  passes each at its ready time, the ``Reorder`` queue releases them in request order at
  ``max_(j<=i)(ready_j + i - j)``; the Reorder arbiter then applies the same in-order release,
  and ``max``-plus composition gives both the same delivery times (known at the same events).

:func:`~archlab.problems.dram.config.canonical_key` is left as it is; ``tests/test_dram_table.py``
checks both identities on traces built to make the scheduler and the refresh bounds matter
(row locality, idle gaps), on DDR3 and DDR4.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, as_completed, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, field_validator

from archlab.core import paths
from archlab.core.params import Section
from archlab.core.space import Config
from archlab.problems.dram.config import KNOBS, canonical_key
from archlab.problems.dram.controller import PreparedTrace, prepare, simulate_many
from archlab.problems.dram.specs import get_spec
from archlab.problems.dram.trace import PUBLIC, Trace, TraceError, generate_trace, read_trace
from archlab.problems.table import write_table

DEFAULT_SPEC = "DDR3-1600"
FULL_REQUESTS = 10_000
REAL_TRACES = ("cloud-1", "cloud-2")
TRACE_DIR = Path("datasets") / "dramsys-traces"
TRACES = (*PUBLIC, *REAL_TRACES)
CHUNK = 2048
SPACE_REF = "archlab.problems.dram.config:KNOBS"
KEY_REF = "archlab.problems.dram.table:table_key"
OBJECTIVES_REF = "archlab.problems.dram.problem:parse_objective"
METRICS = ("makespan_ns", "energy_pJ", "avg_power_mW", "mean_latency_ns", "p99_latency_ns", "bandwidth_GBps",
           "n_act", "n_pre", "n_rd", "n_wr", "n_ref")
_SIM_SOURCES = ("kernel.py", "controller.py", "energy.py", "specs.py", "config.py", "unchecked.py")


def table_key(config: Mapping[str, Any]) -> tuple:
    """:func:`canonical_key` plus the two identities proved above (module docstring)."""
    c = dict(zip(KNOBS.names, canonical_key(config)))
    if c["RequestBufferSize"] == 1:
        c["Scheduler"], c["SchedulerBuffer"] = "Fifo", "Bankwise"
    if c["Arbiter"] == "Reorder":
        c["RespQueue"] = "Fifo"
    return KNOBS.key(c)


def distinct_configs() -> tuple[pd.DataFrame, np.ndarray]:
    """One row per :func:`table_key` class of the raw space and its weight (raw points),
    in order of the classes' mixed-radix codes. Vectorized over the 1.77M raw points;
    ``tests/test_dram_table.py`` checks it against :func:`table_key`."""
    dims = KNOBS.dims
    card = [d.n for d in dims]
    idx = np.stack(np.unravel_index(np.arange(int(np.prod(card))), card), axis=1).astype(np.int64)
    col = {d.name: j for j, d in enumerate(dims)}

    def ix(name: str, value: Any) -> int:
        return KNOBS[name].index_of(value)

    i = idx
    no_ref = i[:, col["RefreshPolicy"]] == ix("RefreshPolicy", "NoRefresh")
    i[no_ref, col["RefreshMaxPostponed"]] = ix("RefreshMaxPostponed", 1)
    i[no_ref, col["RefreshMaxPulledin"]] = ix("RefreshMaxPulledin", 1)
    i[i[:, col["Arbiter"]] == ix("Arbiter", "Simple"), col["MaxActiveTransactions"]] = ix("MaxActiveTransactions", 1)
    one = i[:, col["RequestBufferSize"]] == ix("RequestBufferSize", 1)
    i[one, col["Scheduler"]] = ix("Scheduler", "Fifo")
    i[one, col["SchedulerBuffer"]] = ix("SchedulerBuffer", "Bankwise")
    i[i[:, col["Arbiter"]] == ix("Arbiter", "Reorder"), col["RespQueue"]] = ix("RespQueue", "Fifo")
    code = np.zeros(len(i), dtype=np.int64)
    for j, n in enumerate(card):
        code = code * n + i[:, j]
    uniq, first, counts = np.unique(code, return_index=True, return_counts=True)
    rows = i[first]
    frame = pd.DataFrame({d.name: np.asarray(d.values, dtype=object)[rows[:, j]] for j, d in enumerate(dims)})
    for d in dims:  # integer knobs as int64 columns
        if all(isinstance(v, int) for v in d.values):
            frame[d.name] = frame[d.name].astype(np.int64)
    return frame, counts.astype(np.int64)


# ---------------------------------------------------------------------------- traces

def resolve_table_trace(trace: str, n_requests: int | None = None) -> Trace:
    """A trace by name: ``pub_*`` (generated, ``n_requests`` or 10,000 requests) or a real
    DRAMSys trace ``cloud-1``/``cloud-2`` read from ``<shared>/datasets/dramsys-traces/``
    (its first ``n_requests``, or all). Errors list the allowed names."""
    n = FULL_REQUESTS if n_requests is None else int(n_requests)
    if n < 1:
        raise TraceError(f"--requests must be >= 1, got {n}")
    if trace in PUBLIC:
        return generate_trace(trace, n)
    if trace in REAL_TRACES:
        path = paths.shared() / TRACE_DIR / f"{trace}.stl"
        if not path.is_file():
            raise TraceError(f"real trace {trace!r} not found at {path} (read from the shared folder; "
                             "set ARCHLAB_SHARED if it lives elsewhere)")
        tr = read_trace(path)
        if n_requests is not None and n < len(tr):
            tr = Trace(tr.cycle[:n], tr.is_write[:n], tr.address[:n], name=tr.name)
        return tr
    raise TraceError(f"unknown table trace {trace!r}; allowed: {', '.join(TRACES)}")


def table_name(trace: str, spec: str = DEFAULT_SPEC, n_requests: int | None = None) -> str:
    """``cloud-1`` (full trace, DDR3-1600); ``cloud-1-1000`` (its first 1,000 requests);
    ``cloud-1-DDR4-2400`` for another spec."""
    name = trace
    if n_requests is not None and int(n_requests) != FULL_REQUESTS:
        name += f"-{int(n_requests)}"
    if get_spec(spec).name != DEFAULT_SPEC:
        name += f"-{get_spec(spec).name}"
    return name


def simulator_digest() -> str:
    """SHA-256 (12 hex) of the simulator's sources (chunks of older code are not reused)."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for f in _SIM_SOURCES:
        h.update((here / f).read_bytes())
    return h.hexdigest()[:12]


# ---------------------------------------------------------------------------- workers

_PT: PreparedTrace | None = None


def _init_worker(pt: PreparedTrace) -> None:
    global _PT
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _PT = pt


def _simulate_chunk(args: tuple[Path, list[Config]]) -> Path:
    """Simulate ``configs`` and write their metric columns to ``path`` atomically."""
    path, configs = args
    assert _PT is not None
    results = simulate_many(_PT, configs)
    frame = pd.DataFrame([r.as_dict() for r in results], columns=list(METRICS))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


def _configs_of(frame: pd.DataFrame, lo: int, hi: int) -> list[Config]:
    names = KNOBS.names
    return [dict(zip(names, (v.item() if hasattr(v, "item") else v for v in row)))
            for row in frame.iloc[lo:hi][names].itertuples(index=False)]


def build_table(trace: str, spec: str = DEFAULT_SPEC, n_requests: int | None = None, *,
                out_dir: str | Path | None = None, workers: int = 2, chunk: int = CHUNK,
                progress: bool | None = None, limit: int | None = None, keep_chunks: bool = True,
                command: str | None = None, log: Callable[[str], None] | None = None) -> Path:
    """Simulate every distinct configuration on ``trace`` and write the table; returns its path.

    ``out_dir``: default ``data/dram_tables`` below the output root. ``workers``: processes
    (1 = in this process). ``limit``: only the first ``limit`` configurations (tests; the
    table is then partial and named ``<name>.partial<limit>``). ``progress``: tqdm bar
    (default: when stderr is a terminal).
    """
    from tqdm import tqdm

    spec_obj = get_spec(spec)
    tr = resolve_table_trace(trace, n_requests)
    pt = prepare(tr, spec_obj)
    name = table_name(trace, spec_obj.name, n_requests)
    if limit is not None:
        name += f".partial{int(limit)}"
    out_dir = Path(out_dir) if out_dir is not None else paths.out_root() / "data" / "dram_tables"
    frame, weights = distinct_configs()
    if limit is not None:
        frame, weights = frame.iloc[:limit].reset_index(drop=True), weights[:limit]
    settings = {"trace": trace, "trace_digest": tr.digest(), "n_requests": len(tr), "spec": spec_obj.name,
                "simulator": simulator_digest(), "chunk": int(chunk), "rows": int(len(frame))}
    tag = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    cdir = paths.cache_dir("dram_tables") / f"{name}-{tag}"
    cdir.mkdir(parents=True, exist_ok=True)
    (cdir / "settings.json").write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    bounds = [(lo, min(lo + chunk, len(frame))) for lo in range(0, len(frame), chunk)]
    files = [cdir / f"{k:05d}.parquet" for k in range(len(bounds))]
    todo = [k for k, f in enumerate(files) if not f.is_file()]
    say = log or (lambda s: None)
    say(f"{name}: {len(frame):,} configurations in {len(bounds)} chunks, {len(bounds) - len(todo)} done; "
        f"trace {len(tr):,} requests, {spec_obj.name}, {workers} worker(s)")
    show = sys.stderr.isatty() if progress is None else progress
    t0 = time.perf_counter()
    with tqdm(total=len(bounds), initial=len(bounds) - len(todo), disable=not show, unit="chunk",
              desc=name) as bar:
        jobs = ((files[k], _configs_of(frame, *bounds[k])) for k in todo)
        if workers <= 1:
            _init_worker(pt)
            for job in jobs:
                _simulate_chunk(job)
                bar.update()
        elif todo:  # at most 2 chunks per worker in flight (configs are built lazily)
            with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(pt,)) as pool:
                pending: set = set()
                for job in jobs:
                    pending.add(pool.submit(_simulate_chunk, job))
                    if len(pending) >= 2 * workers:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for f in finished:
                            f.result()
                            bar.update()
                for f in as_completed(pending):
                    f.result()
                    bar.update()
    elapsed = time.perf_counter() - t0
    metrics = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if len(metrics) != len(frame):
        raise RuntimeError(f"{name}: chunks hold {len(metrics)} rows, expected {len(frame)}")
    table = pd.concat([frame, metrics], axis=1)
    table["weight"] = weights
    meta = {"name": f"dram/{name}", "kind": "dram", "space": SPACE_REF, "canonicalizer": KEY_REF,
            "objectives": OBJECTIVES_REF, **settings, "trace_name": tr.name,
            "simulator_settings": {"CmdMux": "Oldest", "PowerDownPolicy": "NoPowerDown",
                                   "trace_clock_MHz": 800},
            "command": command or f"archlab dram table --trace {trace} --spec {spec_obj.name}"
                                  + (f" --requests {n_requests}" if n_requests is not None else "")}
    path = write_table(table, out_dir / f"{name}.parquet", meta)
    if not keep_chunks:
        shutil.rmtree(cdir, ignore_errors=True)
    say(f"{name}: wrote {path} ({len(table):,} rows, raw total {int(weights.sum()):,}); "
        f"simulated {len(todo)} chunks in {elapsed:.1f} s")
    return path


def build_tables(traces: Sequence[str], spec: str = DEFAULT_SPEC, n_requests: int | None = None,
                 **kw: Any) -> list[Path]:
    """:func:`build_table` for each trace (same settings)."""
    return [build_table(t, spec, n_requests, **kw) for t in traces]


# ---------------------------------------------------------------------------- params section

class DramTablesParams(Section):
    """params.yaml ``dram_tables``: which exact tables ``dvc repro dram_tables`` builds."""

    traces: list[str] = Field(["pub_stream", "pub_random", "cloud-1", "cloud-2"], min_length=1,
                              description=f"traces tabulated; allowed: {', '.join(TRACES)}")
    spec: str = Field(DEFAULT_SPEC, description="DRAM standard (DDR3-1600 or DDR4-2400)")
    requests: int | None = Field(None, ge=1, le=FULL_REQUESTS,
                                 description="first N requests of each trace; null = the whole trace")
    workers: int | None = Field(None, ge=1, le=256, description="processes; null = common.workers")
    limit: int | None = Field(None, ge=1, description="only the first N configurations (smoke tests)")

    @field_validator("traces")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if t not in TRACES]
        if bad:
            raise ValueError(f"unknown trace(s) {bad}; allowed: {', '.join(TRACES)}")
        return v

    @field_validator("spec")
    @classmethod
    def _spec(cls, v: str) -> str:
        get_spec(v)
        return v


def table_names(p: DramTablesParams) -> list[str]:
    """The table names (``dram/<name>``) a ``dram_tables`` section builds."""
    return [f"dram/{table_name(t, p.spec, p.requests)}" + (f".partial{p.limit}" if p.limit else "")
            for t in p.traces]
