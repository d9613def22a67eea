"""Pretraining and fine-tuning loops (fp32, int8 with/without QAS in three update modes,
bf16/fp16 with loss scaling), with a cosine learning-rate schedule.

Fine-tuning applies a sparse-update scheme; the frozen front part (the blocks before the
first trained parameter) is run once per image without a graph and cached, which is exact
because nothing in it changes during fine-tuning.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from archlab.ondevice.arch import arch as make_arch
from archlab.ondevice.data import Split
from archlab.ondevice.nets import Net, fold_bn
from archlab.ondevice.qas import QAS, qas_scales
from archlab.ondevice.quant import Head, UpdateMode, project_int8, quantize, set_update_mode
from archlab.ondevice.sparse import Scheme, apply_scheme

Optim = Literal["sgd", "sgdm", "adam"]
Precision = Literal["fp32", "bf16", "fp16"]
Schedule = Literal["cosine", "constant"]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def setup_torch(threads: int, seed: int) -> None:
    """Deterministic torch on the CPU: fixed thread count (:mod:`archlab.core.runtime`) and seed."""
    from archlab.core.runtime import set_threads

    set_threads(threads)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate(net: Net, x: torch.Tensor, y: torch.Tensor, start: int = -1, batch: int = 256,
             dtype: torch.dtype = torch.float32) -> float:
    """Top-1 accuracy of ``net`` on ``x`` (inputs of block ``start`` if ``start >= 0``)."""
    net.eval()
    correct = 0
    for i in range(0, len(y), batch):
        correct += int((net(x[i:i + batch].to(dtype), start=start).argmax(1) == y[i:i + batch]).sum())
    return correct / len(y)


def pretrain(model: str, width: float, resolution: int, depth: float, data: Split, epochs: int, batch: int,
             lr: float, seed: int) -> tuple[Net, list[float]]:
    """Train a BN network from scratch with Adam (one-cycle schedule) on ``data``'s training part;
    returns (net, held-out accuracy after each epoch)."""
    torch.manual_seed(seed)
    net = Net(make_arch(model, width, resolution, depth), data.n_classes, bn=True)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=epochs * _n_batches(len(data.y_train), batch))
    g = torch.Generator().manual_seed(seed)
    accs = []
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(data.y_train), generator=g).split(batch):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(data.x_train[idx]), data.y_train[idx]).backward()
            opt.step()
            sched.step()
        recalibrate_bn(net, data.x_train, batch)
        accs.append(evaluate(net, data.x_test, data.y_test))
    return net, accs


@torch.no_grad()
def recalibrate_bn(net: Net, x: torch.Tensor, batch: int) -> None:
    """Reset BatchNorm running statistics to their exact average over ``x`` for the current weights."""
    bns = [c.bn for c in net.convs if c.bn is not None]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    net.train()
    for i in range(0, len(x), batch):
        net(x[i:i + batch])
    for bn in bns:
        bn.momentum = 0.1
    net.eval()


def _n_batches(n: int, batch: int) -> int:
    return (n + batch - 1) // batch


def transfer_net(pre: Net, n_classes: int, seed: int) -> Net:
    """BN-folded fp32 copy of a pretrained net with a fresh classifier for ``n_classes``."""
    net = fold_bn(pre)
    net.fc.reset(n_classes, torch.Generator().manual_seed(seed))
    return net


def int8_net(fnet: Net, x_calib: torch.Tensor, head: Head = "float", n_calib: int = 128) -> Net:
    """The int8 graph of ``fnet``, calibrated on the first ``n_calib`` of ``x_calib`` (training images)."""
    return quantize(fnet, x_calib[:n_calib], head=head)


def make_optimizer(net: Net, opt: Optim, lr: float, momentum: float, qas: bool) -> torch.optim.Optimizer:
    params = net.params_of()
    m = momentum if opt == "sgdm" else 0.0
    if qas:
        if opt == "adam":
            raise ValueError("QAS is defined for SGD / SGD-momentum (opt sgd or sgdm), not adam")
        scales = qas_scales(net)
        return QAS(params, {p: scales[p] for p in params}, lr=lr, momentum=m)
    if opt == "adam":
        return torch.optim.Adam(params, lr=lr)
    if opt in ("sgd", "sgdm"):
        return torch.optim.SGD(params, lr=lr, momentum=m)
    raise ValueError(f"unknown optimizer {opt!r}; allowed: sgd, sgdm, adam")


@dataclass
class FineTuned:
    """A fine-tuned network and how to evaluate it (the frozen prefix is recomputed per input)."""

    net: Net
    start: int
    dtype: torch.dtype
    stats: dict

    @torch.no_grad()
    def correct(self, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> np.ndarray:
        """Per-image correctness (bool array) on images ``x`` with labels ``y``."""
        self.net.eval()
        out = []
        for i in range(0, len(y), batch):
            xb = x[i:i + batch].to(self.dtype)
            if self.start > 0:
                xb = self.net.prefix(xb, self.start)
            logits = self.net(xb, start=self.start).float()
            ok = logits.argmax(1) == y[i:i + batch]
            out.append((ok & torch.isfinite(logits).all(1)).numpy())
        return np.concatenate(out) if out else np.zeros(0, dtype=bool)

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> float:
        return float(self.correct(x, y).mean())


def finetune(net: Net, x: torch.Tensor, y: torch.Tensor, scheme: Scheme, *, opt: Optim = "sgd", lr: float = 0.05,
             momentum: float = 0.0, qas: bool = False, mode: UpdateMode = "latent", epochs: int = 10,
             batch: int = 32, seed: int = 0, precision: Precision = "fp32", schedule: Schedule = "cosine",
             loss_scale: float = 2.0**12, growth_interval: int = 50) -> FineTuned:
    """Fine-tune a copy of ``net`` on ``(x, y)`` under ``scheme``.

    ``schedule="cosine"`` anneals the learning rate to 0 over all steps (per batch).
    ``mode`` applies to the int8 graph (see :mod:`archlab.ondevice.quant`). ``precision``
    bf16/fp16 runs forward and backward in that dtype with fp32 master weights; fp16 uses
    dynamic loss scaling (start ``loss_scale``, halve on overflow and skip the step, double
    after ``growth_interval`` clean steps). A run whose loss turns non-finite stops
    (``stats["diverged"]``); its non-finite logits count as wrong answers.
    """
    net = apply_scheme(copy.deepcopy(net), scheme)
    dtype = DTYPES[precision]
    if dtype != torch.float32 and net.quantized:
        raise ValueError("reduced-precision training applies to the fp32 graph, not the int8 graph")
    if schedule not in ("cosine", "constant"):
        raise ValueError(f"unknown schedule {schedule!r}; allowed: cosine, constant")
    if net.quantized:
        set_update_mode(net, mode)
    start = net.first_trained_block()
    start = -1 if start <= 0 else start
    x_tr = net.prefix(x, start) if start > 0 else x
    optimizer = make_optimizer(net, opt, lr, momentum, qas)
    n_steps = epochs * _n_batches(len(y), batch)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_steps) if schedule == "cosine"
             else None)
    params = net.params_of()
    master = None
    if dtype != torch.float32:
        master = params
        net = copy.deepcopy(net).to(dtype)
        params = net.params_of()
    scale = loss_scale if precision == "fp16" else 1.0
    g = torch.Generator().manual_seed(seed)
    stats = {"steps": 0, "skipped": 0, "diverged": False}
    clean = 0
    losses: list[float] = []
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(y), generator=g).split(batch):
            for p in params:
                p.grad = None
            loss = F.cross_entropy(net(x_tr[idx].to(dtype), start=start).float(), y[idx])
            if not torch.isfinite(loss) and master is None:
                stats["diverged"] = True
                break
            (loss * scale).backward()
            stats["steps"] += 1
            losses.append(float(loss.detach()))
            if master is not None:
                grads = [p.grad.float() / scale if p.grad is not None else None for p in params]
                if any(gr is not None and not torch.isfinite(gr).all() for gr in grads):
                    scale, clean = scale / 2, 0
                    stats["skipped"] += 1
                    continue
                for m, gr in zip(master, grads):
                    m.grad = gr
            optimizer.step()
            if sched is not None:
                sched.step()
            if master is not None:
                with torch.no_grad():
                    for m, p in zip(master, params):
                        p.copy_(m)
                clean += 1
                if precision == "fp16" and clean % growth_interval == 0:
                    scale *= 2
            if net.quantized:
                project_int8(net, mode)
        if stats["diverged"]:
            break
    stats["final_loss"] = sum(losses[-5:]) / max(1, len(losses[-5:]))
    stats["loss_scale"] = scale
    return FineTuned(net, start, dtype, stats)
