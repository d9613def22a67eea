"""Run experiments and append their results to a :class:`~archlab.sweep.store.Store`.

Executors: ``local`` (a ``ProcessPoolExecutor`` of ``workers`` processes) and ``dask``
(a ``distributed.Client`` on ``address``, or a ``LocalCluster`` of ``workers`` on
127.0.0.1 when the address is None). Workers only compute; the driver (this process) is
the only writer, so the store needs no locking. An experiment is a pure function of its
fields (the searcher is seeded with the experiment seed, the simulator with seed 0), hence
results are bit-identical across executors and worker counts; only ``wall_s`` differs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from archlab.sweep.plan import Experiment, canonical_json
from archlab.sweep.store import CPU, KNOB_PREFIX, OBJ, WALL, Store

_PROBLEM_CACHE: dict[str, Any] = {}  # per worker process: building a problem may load traces


def _problem(exp: Experiment) -> Any:
    from archlab.problems import make_problem

    key = canonical_json([exp.problem, exp.workload, exp.objective, exp.target, exp.options])
    if key not in _PROBLEM_CACHE:
        _PROBLEM_CACHE[key] = make_problem(exp.problem, exp.workload, exp.objective, dict(exp.target),
                                           **exp.options)
    return _PROBLEM_CACHE[key]


def _single_thread() -> None:
    """Pool-worker initializer: one BLAS/torch thread per worker (workers fill the cores)."""
    from archlab.core.runtime import set_threads

    set_threads(1)


def run_experiment(exp: Experiment) -> pd.DataFrame:
    """Run one experiment; its trajectory with the store's columns (module ``store``)."""
    from archlab import search

    t0, c0 = time.perf_counter(), time.process_time()
    problem = _problem(exp)
    searcher = search.make(exp.searcher, problem.space, seed=exp.seed, **exp.hp)
    log = search.run(problem, searcher, exp.budget, eval_seed=0, batch=exp.batch)
    knobs = problem.space.names
    log = log.drop(columns=["wall_s"]).rename(columns={k: KNOB_PREFIX + k for k in knobs})
    ident = {"experiment_id": exp.id, "problem": exp.problem, "workload": exp.workload,
             "objective": exp.objective, "target": canonical_json(exp.target),
             "target_spec": exp.target_spec, "searcher": exp.searcher, "hp": canonical_json(exp.hp),
             "hp_draw": exp.hp_draw, "seed": exp.seed, "budget": exp.budget}
    front = pd.DataFrame({k: [v] * len(log) for k, v in ident.items()})
    out = pd.concat([front, log.reset_index(drop=True)], axis=1)
    out[OBJ] = json.dumps(list(problem.objectives))
    out[WALL] = time.perf_counter() - t0
    out[CPU] = time.process_time() - c0
    return out


@dataclass(frozen=True)
class SweepResult:
    total: int
    skipped: int
    ran: int
    wall_s: float
    failed: int = 0

    @property
    def rate_per_hour(self) -> float:
        return 3600.0 * self.ran / self.wall_s if self.wall_s > 0 else float("nan")


def _local(pending: Sequence[Experiment], workers: int, window: int) -> Iterator[tuple[Experiment, pd.DataFrame]]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    todo = iter(pending)
    with ProcessPoolExecutor(max_workers=workers, initializer=_single_thread) as pool:
        running = {}
        for exp in _take(todo, window):
            running[pool.submit(run_experiment, exp)] = exp
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                exp = running.pop(fut)
                err = fut.exception()
                if isinstance(err, BrokenProcessPool):
                    raise err  # a worker died (killed, out of memory): stop; a rerun resumes
                yield exp, (err if err is not None else fut.result())
                for nxt in _take(todo, 1):
                    running[pool.submit(run_experiment, nxt)] = nxt


def _dask(pending: Sequence[Experiment], workers: int, window: int, address: str | None,
          processes: bool) -> Iterator[tuple[Experiment, pd.DataFrame]]:
    from distributed import Client, LocalCluster, as_completed
    from distributed.scheduler import KilledWorker

    cluster = None
    if address is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, protocol="tcp",
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        window = max(window, 4 * sum(client.nthreads().values()))  # a remote cluster may be large
        todo = iter(pending)
        by_key = {}
        futures = []
        for exp in _take(todo, window):
            fut = client.submit(run_experiment, exp, key=f"exp-{exp.id}", pure=False)
            by_key[fut.key] = exp
            futures.append(fut)
        stream = as_completed(futures)
        for fut in stream:
            exp = by_key.pop(fut.key)
            result = fut.exception() if fut.status == "error" else fut.result()
            if isinstance(result, KilledWorker):
                raise result  # infrastructure, not the experiment: stop; a rerun resumes
            fut.release()
            yield exp, result
            for nxt in _take(todo, 1):
                f2 = client.submit(run_experiment, nxt, key=f"exp-{nxt.id}", pure=False)
                by_key[f2.key] = nxt
                stream.add(f2)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _take(it: Iterator[Experiment], n: int) -> list[Experiment]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def run_sweep(experiments: Iterable[Experiment], store: Store, *, executor: str = "local", workers: int = 2,
              address: str | None = None, progress: bool = True, dask_processes: bool = True,
              compact: bool = True, compact_every: int = 2000, limit: int | None = None,
              on_result: Callable[[Experiment, pd.DataFrame], None] | None = None,
              retry_failed: bool = False) -> SweepResult:
    """Run every experiment not yet in ``store`` and append each result atomically.

    An experiment that raises (e.g. an invalid hyperparameter combination) is recorded under
    ``failures/`` with its error and counted as finished unless ``retry_failed``.
    ``limit``: run at most this many (for probes). ``compact_every``: merge parts while
    running once that many accumulate (and once at the end when ``compact``).
    """
    from tqdm import tqdm

    experiments = list(experiments)
    store.ensure().clean_tmp()
    store.write_plan(e.id for e in experiments)
    done = store.done_ids()
    if retry_failed:
        store.clear_failures()
    done |= store.failed_ids()
    pending = [e for e in experiments if e.id not in done]
    skipped = len(experiments) - len(pending)
    if limit is not None:
        pending = pending[:limit]
    t0 = time.perf_counter()
    window = max(16, 4 * workers)
    if executor == "local":
        stream = _local(pending, workers, window) if pending else iter(())
    elif executor == "dask":
        stream = _dask(pending, workers, window, address, dask_processes) if pending else iter(())
    else:
        raise ValueError(f"executor {executor!r}: allowed: local, dask")
    bar = tqdm(total=len(pending), desc=f"sweep ({executor})", unit="exp", disable=not progress,
               file=sys.stderr, mininterval=2.0, smoothing=0.05)
    since_compact = failed = 0
    for exp, frame in stream:
        if isinstance(frame, BaseException):
            store.write_failure(exp.id, exp.to_dict(), frame)
            failed += 1
            bar.update(1)
            continue
        store.write(exp.id, frame)
        if on_result is not None:
            on_result(exp, frame)
        bar.update(1)
        since_compact += 1
        if since_compact >= compact_every:
            store.compact()
            since_compact = 0
    bar.close()
    if compact:
        store.compact()
    return SweepResult(len(experiments), skipped, len(pending), time.perf_counter() - t0, failed)
