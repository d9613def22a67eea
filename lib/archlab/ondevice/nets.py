"""Torch networks built from an :class:`~archlab.ondevice.arch.Arch`.

One network class serves three states of the same graph:

* ``bn``: conv (no bias) + BatchNorm + ReLU6, used for pretraining;
* ``float``: BN folded into conv weights and biases, plain PyTorch ops (the fp32 graph
  and the "framework" baseline of the memory comparison);
* ``quant``: the int8 graph of :mod:`archlab.ondevice.quant` (integer-valued weights with
  per-channel scales, activations on the int8 grid, the lean operators of
  :mod:`archlab.ondevice.int8ops` that keep only what backward needs).

Sparse update (:mod:`archlab.ondevice.sparse`) sets per conv which of weight and bias
require grad and which channels of the weight are updated (``keep_idx``, largest magnitude first).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from archlab.ondevice.arch import Arch, ConvSpec
from archlab.ondevice.int8ops import INT32, ActQ, LeanConv, QuantAct, kept_channels, round_ste, split_dim

__all__ = ["ActQ", "Net", "TConv", "TLinear", "fold_bn", "kept_channels", "split_dim"]


class TConv(nn.Module):
    """A conv of the graph with optional BN, float or int8 semantics and partial weight update."""

    def __init__(self, spec: ConvSpec, bn: bool):
        super().__init__()
        self.spec = spec
        w = torch.empty(spec.cout, spec.cin // spec.groups, spec.k, spec.k)
        nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(spec.cout))
        self.bn = nn.BatchNorm2d(spec.cout) if bn else None
        self.keep_idx: torch.Tensor | None = None  # channels of split_dim updated; None = all
        self.round_w = False  # int8 graph: round the latent weights in the forward pass (STE)
        self.s_w: torch.Tensor | None = None  # per-output-channel weight scale (quant state)
        self.q_in: ActQ | None = None
        self.q_out: ActQ | None = None

    @property
    def quantized(self) -> bool:
        return self.s_w is not None

    def _weight(self) -> torch.Tensor:
        w = self.weight
        if self.keep_idx is None or not w.requires_grad:
            return w
        shape = [1] * w.dim()
        d = split_dim(self.spec)
        shape[d] = w.shape[d]
        m = torch.zeros(shape, dtype=w.dtype)
        m.view(-1)[self.keep_idx] = 1
        return w * m + w.detach() * (1 - m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sp = self.spec
        if self.quantized:
            w, b = self.weight, self.bias
            if self.round_w:
                w, b = round_ste(w, 127), round_ste(b, INT32)
            y = LeanConv.apply(x, w, b, self.s_w, self.q_in, sp, self.keep_idx)
            return QuantAct.apply(y, self.q_out)
        y = F.conv2d(x, self._weight(), None if self.bn is not None else self.bias,
                     sp.stride, sp.k // 2, 1, sp.groups)
        if self.bn is not None:
            y = self.bn(y)
        return F.relu6(y) if sp.relu6 else y


class TLinear(nn.Module):
    """The classifier (always trained); int8 weights with per-class scales in the quant state."""

    def __init__(self, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_out, n_in) * (1.0 / math.sqrt(n_in)))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.s_w: torch.Tensor | None = None
        self.q_in: ActQ | None = None
        self.round_w = False

    def reset(self, n_out: int, generator: torch.Generator | None = None) -> None:
        """A fresh head for ``n_out`` classes (transfer to a new task)."""
        n_in = self.weight.shape[1]
        self.weight = nn.Parameter(torch.randn(n_out, n_in, generator=generator) / math.sqrt(n_in))
        self.bias = nn.Parameter(torch.zeros(n_out))
        self.s_w = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.s_w is None:
            return F.linear(x, self.weight, self.bias)
        w, b = self.weight, self.bias
        if self.round_w:
            w, b = round_ste(w, 127), round_ste(b, INT32)
        return F.linear(x, w * self.s_w.view(-1, 1), b * self.s_w * self.q_in.s)


class Net(nn.Module):
    """Backbone + global average pool + linear classifier."""

    def __init__(self, a: Arch, n_classes: int, bn: bool = True):
        super().__init__()
        self.arch = a
        self.convs = nn.ModuleList(TConv(c, bn) for c in a.convs)
        self.fc = TLinear(a.feat_dim, n_classes)
        self.q_input: ActQ | None = None
        self.q_add: dict[int, ActQ] = {}
        self.q_pool: ActQ | None = None
        self._blocks = [[c.index for c in a.convs if c.block == b] for b in range(a.n_blocks)]

    @property
    def quantized(self) -> bool:
        return self.q_input is not None

    def forward(self, x: torch.Tensor, observe: dict[str, list[float]] | None = None,
                start: int = -1) -> torch.Tensor:
        """Logits of images ``x``; with ``start >= 0``, ``x`` is the input of block ``start``
        (as returned by :meth:`prefix`). ``observe`` collects activation ranges."""
        return self.fc(self._run(x, start, self.arch.n_blocks, observe, head=True))

    @torch.no_grad()
    def prefix(self, x: torch.Tensor, block: int) -> torch.Tensor:
        """The input of block ``block`` (frozen front part, no graph)."""
        return self._run(x, -1, block, None, head=False)

    def _run(self, x, start, stop, observe, head):
        def obs(name: str, t: torch.Tensor) -> None:
            if observe is not None:
                lo, hi = float(t.min()), float(t.max())
                old = observe.get(name, [lo, hi])
                observe[name] = [min(old[0], lo), max(old[1], hi)]

        if start < 0:
            if self.quantized:
                x = QuantAct.apply(x, self.q_input)
            obs("in", x)
            x = self.convs[0](x)
            obs("conv0", x)
            start = 0
        for b in range(start, stop):
            inp = x
            for i in self._blocks[b]:
                x = self.convs[i](x)
                obs(f"conv{i}", x)
            if b in self.arch.residual_blocks:
                x = x + inp
                if self.quantized:
                    x = QuantAct.apply(x, self.q_add[b])
                obs(f"add{b}", x)
        if not head:
            return x
        x = x.mean((2, 3))
        if self.quantized:
            x = QuantAct.apply(x, self.q_pool)
        obs("pool", x)
        return x

    def first_trained_block(self) -> int:
        """Block of the first conv with a parameter requiring grad (-1: the first conv; n_blocks: none)."""
        for c in self.convs:
            if c.weight.requires_grad or c.bias.requires_grad:
                return c.spec.block
        return self.arch.n_blocks

    def params_of(self) -> list[nn.Parameter]:
        """Parameters that currently require grad."""
        return [p for p in self.parameters() if p.requires_grad]


@torch.no_grad()
def fold_bn(net: Net) -> Net:
    """A copy of ``net`` with every BatchNorm folded into its conv's weight and bias."""
    out = Net(net.arch, net.fc.weight.shape[0], bn=False)
    for src, dst in zip(net.convs, out.convs):
        w, b = src.weight.detach().clone(), src.bias.detach().clone()
        if src.bn is not None:
            bn = src.bn
            g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = w * g.view(-1, 1, 1, 1)
            b = bn.bias - bn.running_mean * g
        dst.weight.copy_(w)
        dst.bias.copy_(b)
    out.fc.load_state_dict(net.fc.state_dict())
    return out
