"""The int8 operators both the network (:mod:`~archlab.ondevice.nets`) and the quantizer
(:mod:`~archlab.ondevice.quant`) need: the activation quantizer, requantization with a
1-bit clamp mask, the lean int8 conv, and channel selection for partial weight updates.

Kept in a module of their own so that ``nets`` and ``quant`` do not import each other.

Representation (simulated in float, numerically the integer pipeline): a conv's weight
holds *integer* values (|w| <= 127) with a float scale per output channel; its bias the
int32 bias in units of ``s_w * s_x``; activations are per-tensor asymmetric int8
``real = s * (q - z)``, carried as their real values, which lie exactly on the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight

from archlab.ondevice.arch import ConvSpec

INT32 = 2**31 - 1


@dataclass(frozen=True)
class ActQ:
    """Per-tensor asymmetric int8 activation quantizer: real = s * (q - z), q in [lo, hi]."""

    s: float
    z: int
    lo: int = -128
    hi: int = 127

    @staticmethod
    def from_range(lo_real: float, hi_real: float, relu6: bool) -> ActQ:
        """Quantizer covering [lo_real, hi_real]; with ``relu6`` the clamp is ReLU6 fused."""
        lo_real, hi_real = min(lo_real, 0.0), max(hi_real, 0.0)
        if relu6:
            lo_real, hi_real = 0.0, min(max(hi_real, 1e-3), 6.0)
        s = max(hi_real - lo_real, 1e-6) / 255.0
        z = int(min(127, max(-128, round(-128 - lo_real / s))))
        lo = max(-128, z) if relu6 else -128
        hi = min(127, z + round(6.0 / s)) if relu6 else 127
        return ActQ(float(s), z, lo, hi)


def split_dim(spec: ConvSpec) -> int:
    """Weight dimension along which a channel ratio keeps channels (input channels; depthwise: 0)."""
    return 0 if spec.groups > 1 else 1


def kept_channels(spec: ConvSpec, ratio: float) -> int:
    """Channels of the weight's split dimension updated at ``ratio`` (at least one)."""
    n = spec.cout if spec.groups > 1 else spec.cin
    return max(1, min(n, math.ceil(ratio * n - 1e-9)))


def magnitude_channels(spec: ConvSpec, w_real: torch.Tensor, ratio: float) -> torch.Tensor:
    """Indices (ascending) of the ``kept_channels`` channels with the largest L2 weight norm
    along :func:`split_dim` (the reference's magnitude-based channel selection)."""
    d = split_dim(spec)
    norms = w_real.detach().transpose(0, d).flatten(1).norm(dim=1)
    k = kept_channels(spec, ratio)
    idx = torch.argsort(norms, descending=True, stable=True)[:k]
    return torch.sort(idx).values


def round_ste(w: torch.Tensor, bound: int) -> torch.Tensor:
    """``round(w)`` clamped to ``[-bound, bound]`` in the forward pass, identity gradient."""
    return w + (torch.round(w).clamp(-bound, bound) - w).detach()


class QuantAct(torch.autograd.Function):
    """Requantize to ``q`` with round-to-nearest (straight-through) and clamp; saves a bool mask."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, q: ActQ) -> torch.Tensor:
        code = torch.round(y / q.s) + q.z
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward((code >= q.lo) & (code <= q.hi))
        return (code.clamp_(q.lo, q.hi) - q.z) * q.s

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return g * mask, None


class LeanConv(torch.autograd.Function):
    """int8 conv that keeps for backward only what the requested gradients need.

    Inputs: real-valued activation ``x`` (on the grid of ``q_in``), integer weight ``w``,
    integer bias ``b``, per-channel scales ``s_w`` and ``idx`` (indices of the channels of
    :func:`split_dim` whose weights are updated; ``None`` = all). The input activation is
    saved as int8 codes of the kept channels only, and only when the weight requires grad.
    The caller passes the weight it wants the forward to use (rounded or not, see
    :mod:`archlab.ondevice.quant`); gradients flow to it unchanged.
    """

    @staticmethod
    def forward(ctx, x, w, b, s_w, q_in: ActQ, spec: ConvSpec, idx):
        wr = w * s_w.view(-1, 1, 1, 1)
        y = F.conv2d(x, wr, b * s_w * q_in.s, spec.stride, spec.k // 2, 1, spec.groups)
        need_w = ctx.needs_input_grad[1]
        xs = None
        if need_w:
            xk = x if idx is None else x.index_select(1, idx)
            xs = torch.round(xk / q_in.s + q_in.z).to(torch.int8)
        ctx.save_for_backward(xs, w.detach() if ctx.needs_input_grad[0] else None, s_w, idx)
        ctx.meta = (q_in, spec, tuple(x.shape))
        return y

    @staticmethod
    def backward(ctx, gy):
        xs, w, s_w, idx = ctx.saved_tensors
        q_in, spec, x_shape = ctx.meta
        pad = spec.k // 2
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = conv2d_input(x_shape, w * s_w.view(-1, 1, 1, 1), gy, spec.stride, pad, 1, spec.groups)
        if ctx.needs_input_grad[1]:
            xk = (xs.to(gy.dtype) - q_in.z) * q_in.s
            shape = [spec.cout, spec.cin // spec.groups, spec.k, spec.k]
            if idx is None:
                gw = conv2d_weight(xk, shape, gy, spec.stride, pad, 1, spec.groups)
            else:
                gw = gy.new_zeros(shape)
                if split_dim(spec) == 0:  # depthwise: kept channels are output = input channels
                    part_shape = [len(idx), *shape[1:]]
                    part = conv2d_weight(xk, part_shape, gy.index_select(1, idx), spec.stride, pad, 1, len(idx))
                    gw.index_copy_(0, idx, part)
                else:
                    part_shape = [shape[0], len(idx), *shape[2:]]
                    part = conv2d_weight(xk, part_shape, gy, spec.stride, pad, 1, 1)
                    gw.index_copy_(1, idx, part)
            gw.mul_(s_w.view(-1, 1, 1, 1))
        if ctx.needs_input_grad[2]:
            gb = gy.sum((0, 2, 3)) * s_w * q_in.s
        return gx, gw, gb, None, None, None, None
