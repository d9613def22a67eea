"""One runtime policy: thread limits and random seeding.

Every part of archlab that caps threads or seeds a generator goes through here, so a
process never ends up with several competing policies:

* :func:`limit_threads` -- a context manager capping native thread pools (BLAS/OpenMP via
  threadpoolctl) and torch's intra-op threads, restoring both on exit. Small models and
  per-configuration measurements run faster and more reproducibly single-threaded.
* :func:`set_threads` -- the same, process-wide and permanent (worker initialisers: a pool of
  one-thread workers fills the cores).
* :func:`torch_isolated` -- torch code with a private RNG state (seeded) and a thread cap; the
  global RNG and thread count are restored (searchers in one process never disturb each other).
* :func:`rng` / :func:`seed_all` -- numpy generators seeded from a tuple of keys; seeding of
  the global numpy/random/torch state for scripts that need it.

torch is never imported here unless asked for (:func:`torch_isolated`, :func:`seed_all`
with ``torch=True``); thread caps touch torch only when it is already imported.
"""

from __future__ import annotations

import contextlib
import os
import random
import sys
import zlib
from collections.abc import Iterator

import numpy as np

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


def _torch():
    return sys.modules.get("torch")


@contextlib.contextmanager
def limit_threads(threads: int | None = 1, *, user_api: str | None = None) -> Iterator[None]:
    """Cap BLAS/OpenMP pools (``user_api``: ``"blas"``, ``"openmp"`` or both when None) and
    torch's intra-op threads (if torch is imported) at ``threads``; ``None`` = no cap."""
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    from threadpoolctl import threadpool_limits

    torch = _torch()
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads, user_api=user_api):
            yield
    finally:
        if torch is not None and old is not None:
            torch.set_num_threads(old)


def set_threads(threads: int = 1) -> None:
    """Process-wide thread cap (environment for pools not started yet, threadpoolctl for
    loaded ones, torch if imported). For worker-process initialisers."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def torch_isolated(seed: int | None = None, threads: int = 1) -> Iterator[None]:
    """Run torch code with a private RNG state (seeded when ``seed`` is given) and
    ``threads`` intra-op threads; the process-global RNG and thread count are restored."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(old)


def _key(k: int | str) -> int:
    if isinstance(k, str):
        return zlib.crc32(k.encode())
    if isinstance(k, (int, np.integer)) and k >= 0:
        return int(k)
    raise ValueError(f"seed keys must be non-negative ints or strings, got {k!r}")


def rng(*keys: int | str) -> np.random.Generator:
    """A numpy Generator seeded from ``keys`` (ints, or strings hashed with CRC-32), e.g.
    ``rng(C.seed, "ga", draw)``; the same keys give the same stream on every run."""
    if not keys:
        raise ValueError("rng() needs at least one key (a seed)")
    return np.random.default_rng([_key(k) for k in keys])


def seed_all(seed: int, *, torch: bool = False) -> None:
    """Seed Python's ``random``, numpy's legacy global state and (``torch=True``) torch."""
    random.seed(seed)
    np.random.seed(_key(seed) % 2**32)
    if torch:
        import torch as _t

        _t.manual_seed(seed)
