"""Torch helpers shared by the model-based searchers (imported lazily: torch is heavy)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def isolated(seed: int | None = None, threads: int = 1) -> Iterator[None]:
    """Run torch code with a private RNG state (seeded when ``seed`` is given) and
    ``threads`` intra-op threads; the process-global RNG and thread count are restored.

    Small models are much faster single-threaded (OpenMP spin-waits dominate tiny ops,
    badly so on a loaded machine), and forking the RNG keeps searchers in one process
    from disturbing each other.
    """
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
