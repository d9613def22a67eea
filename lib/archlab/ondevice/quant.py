"""The int8 quantized graph: BN folded, per-channel int8 weights, int32 bias, fused ReLU6.

Representation (simulated in float, numerically the integer pipeline): a conv's
``weight`` parameter holds the *integer* weights (|w| <= 127) with a float scale
``s_w`` per output channel; its ``bias`` holds the int32 bias in units of
``s_w * s_x``; activations are per-tensor asymmetric int8 ``real = s * (q - z)``, carried
as their real values, which lie exactly on the grid. Requantization rounds with a
straight-through estimator and clamps to ``[lo, hi]``; for convs followed by ReLU6 the
clamp bounds are ReLU6 (fused), so the 1-bit clamp mask is all backward needs.

Update modes (:func:`project_int8`): ``shadow`` keeps the integer weights as fp32
tensors that drift off the grid (what the reference code does); ``int8`` casts them back
to int8 after every optimizer step, so updates smaller than half a step are lost.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight

from archlab.ondevice.arch import ConvSpec
from archlab.ondevice.nets import ActQ, Net, TConv, split_dim

UpdateMode = Literal["shadow", "int8"]
INT32 = 2**31 - 1


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
    integer bias ``b`` and per-channel scales ``s_w``. The input activation is saved as
    int8 codes, and only its ``keep`` channels, only when the weight requires grad; nothing
    is saved for bias-only or frozen convs except what the input gradient needs (the
    weight, which is a parameter already resident).
    """

    @staticmethod
    def forward(ctx, x, w, b, s_w, q_in: ActQ, spec: ConvSpec, keep: int):
        wr = w * s_w.view(-1, 1, 1, 1)
        y = F.conv2d(x, wr, b * s_w * q_in.s, spec.stride, spec.k // 2, 1, spec.groups)
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        xs = None
        if need_w:
            xk = x.narrow(1, 0, keep)
            xs = torch.round(xk / q_in.s + q_in.z).to(torch.int8)
        ctx.save_for_backward(xs, w if need_x else None, s_w)
        ctx.meta = (q_in, spec, keep, tuple(x.shape))
        return y

    @staticmethod
    def backward(ctx, gy):
        xs, w, s_w = ctx.saved_tensors
        q_in, spec, keep, x_shape = ctx.meta
        pad = spec.k // 2
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = conv2d_input(x_shape, w * s_w.view(-1, 1, 1, 1), gy, spec.stride, pad, 1, spec.groups)
        if ctx.needs_input_grad[1]:
            xk = (xs.to(gy.dtype) - q_in.z) * q_in.s
            shape = [spec.cout, spec.cin // spec.groups, spec.k, spec.k]
            gw = gy.new_zeros(shape)
            if split_dim(spec) == 0:  # depthwise: kept channels are output = input channels
                shape[0] = keep
                part = conv2d_weight(xk, shape, gy.narrow(1, 0, keep), spec.stride, pad, 1, keep)
                gw.narrow(0, 0, keep).copy_(part)
            else:
                shape[1] = keep
                gw.narrow(1, 0, keep).copy_(conv2d_weight(xk, shape, gy, spec.stride, pad, 1, 1))
            gw.mul_(s_w.view(-1, 1, 1, 1))
        if ctx.needs_input_grad[2]:
            gb = gy.sum((0, 2, 3)) * s_w * q_in.s
        return gx, gw, gb, None, None, None, None


def weight_scale(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-output-channel scale: max |w| / 127."""
    return (w.detach().abs().flatten(1).amax(1) / 127.0).clamp_min(1e-8)


@torch.no_grad()
def calibrate(net: Net, x: torch.Tensor) -> dict[str, list[float]]:
    """Per-tensor activation ranges of the float graph on calibration images ``x``."""
    ranges: dict[str, list[float]] = {}
    net.eval()
    net(x, observe=ranges)
    return ranges


@torch.no_grad()
def quantize(net: Net, calib: torch.Tensor) -> Net:
    """The int8 graph of a BN-folded float ``net`` (a new network; ``net`` is unchanged)."""
    if any(c.bn is not None for c in net.convs):
        raise ValueError("fold BatchNorm first (archlab.ondevice.nets.fold_bn)")
    ranges = calibrate(net, calib)
    q = Net(net.arch, net.fc.weight.shape[0], bn=False)
    q.load_state_dict(net.state_dict())
    q.q_input = ActQ.from_range(*ranges["in"], relu6=False)
    prev = q.q_input
    for c in q.convs:
        c.q_in = prev
        c.q_out = ActQ.from_range(*ranges[f"conv{c.spec.index}"], relu6=c.spec.relu6)
        _quantize_weights(c)
        prev = c.q_out
        if c.spec.role == "pw2" and c.spec.block in q.arch.residual_blocks:
            prev = q.q_add[c.spec.block] = ActQ.from_range(*ranges[f"add{c.spec.block}"], relu6=False)
    q.q_pool = ActQ.from_range(*ranges["pool"], relu6=False)
    fc = q.fc
    fc.q_in = q.q_pool
    fc.s_w = weight_scale(fc.weight)
    fc.weight.copy_(torch.round(fc.weight / fc.s_w.view(-1, 1)).clamp(-127, 127))
    fc.bias.copy_(torch.round(fc.bias / (fc.s_w * fc.q_in.s)))
    return q


def _quantize_weights(c: TConv) -> None:
    c.s_w = weight_scale(c.weight)
    c.weight.copy_(torch.round(c.weight / c.s_w.view(-1, 1, 1, 1)).clamp(-127, 127))
    c.bias.copy_(torch.round(c.bias / (c.s_w * c.q_in.s)).clamp(-INT32, INT32))


def quant_layers(net: Net) -> list:
    """The quantized layers (convs then the classifier)."""
    return [*net.convs, net.fc]


@torch.no_grad()
def project_int8(net: Net, mode: UpdateMode) -> None:
    """After an optimizer step: in ``int8`` mode cast weights back to int8 and biases to int32."""
    if mode == "shadow":
        return
    if mode != "int8":
        raise ValueError(f"unknown update mode {mode!r}; allowed: shadow, int8")
    for layer in quant_layers(net):
        layer.weight.copy_(torch.round(layer.weight).clamp_(-127, 127))
        layer.bias.copy_(torch.round(layer.bias).clamp_(-INT32, INT32))


def int8_state(net: Net) -> dict[str, torch.Tensor]:
    """Weights as true ``torch.int8`` and biases as ``torch.int32`` tensors; raises if off-grid."""
    out = {}
    for i, layer in enumerate(quant_layers(net)):
        w, b = layer.weight.detach(), layer.bias.detach()
        if not (torch.equal(w, torch.round(w)) and w.abs().max() <= 127 and torch.equal(b, torch.round(b))):
            raise ValueError(f"layer {i} is not on the int8/int32 grid (shadow weights drifted)")
        out[f"{i}.weight"] = w.to(torch.int8)
        out[f"{i}.bias"] = b.to(torch.int32)
    return out


def real_weight(layer) -> torch.Tensor:
    """The real-valued weight of a (quantized or float) layer."""
    w = layer.weight.detach()
    if layer.s_w is None:
        return w
    return w * layer.s_w.view(-1, *([1] * (w.dim() - 1)))
