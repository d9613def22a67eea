"""A small synthetic table (``toy/lottery``) so the protocol runs in seconds (smoke, tests).

Five ordinal knobs with six levels (7,776 raw points, all distinct); two metrics with a
rugged, non-separable landscape (a bowl around a hidden point plus pairwise interactions
and a deterministic hash ripple). Written under ``data/toy_tables/`` of the output root.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from archlab.core import paths
from archlab.core.space import Ordinal, Space

SPACE = Space([Ordinal(f"k{i}", levels=(1, 2, 3, 4, 5, 6), default=1) for i in range(5)])
NAME = "toy/lottery"


def _metrics(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(b"archlab-lottery-toy"))
    centre = rng.integers(0, 6, size=idx.shape[1])
    inter = rng.normal(0, 0.6, size=(idx.shape[1], idx.shape[1]))
    d = idx - centre
    bowl = (d ** 2).sum(axis=1)
    cross = np.einsum("ni,ij,nj->n", np.sign(d), inter, np.sign(d))
    code = (idx * (6 ** np.arange(idx.shape[1]))).sum(axis=1)
    ripple = (np.sin(code * 12.9898) * 43758.5453) % 1.0
    cost = 10.0 + bowl + 2.0 * cross + 3.0 * ripple
    energy = 50.0 + 2.0 * (idx[:, 0] - 5) ** 2 + idx[:, 1:].sum(axis=1) * 1.5 + 4.0 * ((ripple * 7) % 1.0)
    return cost - cost.min() + 1.0, energy


def ensure_toy_table() -> Path:
    """Write the toy table if it is missing (deterministic); return its path."""
    import pandas as pd

    from archlab.problems.table import write_table

    path = paths.out_root() / "data" / "toy_tables" / "lottery.parquet"
    if path.is_file():
        return path
    grids = np.meshgrid(*[np.arange(6)] * len(SPACE), indexing="ij")
    idx = np.stack([g.ravel() for g in grids], axis=1)
    cost, energy = _metrics(idx)
    frame = pd.DataFrame({d.name: np.asarray(d.values)[idx[:, j]] for j, d in enumerate(SPACE)})
    frame["cost_au"] = cost
    frame["energy_pJ"] = energy
    frame["weight"] = np.ones(len(frame), dtype=np.int64)
    return write_table(frame, path, {"name": NAME, "space": "archlab.studies.lottery.toy:SPACE",
                                     "command": "archlab.studies.lottery.toy.ensure_toy_table()"})
