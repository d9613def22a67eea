"""The int8 quantized graph: BN folded, per-channel int8 weights, int32 bias, fused ReLU6.

Representation (simulated in float, numerically the integer pipeline): a conv's
``weight`` parameter holds the *integer* weights (|w| <= 127) with a float scale
``s_w`` per output channel; its ``bias`` holds the int32 bias in units of
``s_w * s_x``; activations are per-tensor asymmetric int8 ``real = s * (q - z)``, carried
as their real values, which lie exactly on the grid. Requantization rounds with a
straight-through estimator and clamps to ``[lo, hi]``; for convs followed by ReLU6 the
clamp bounds are ReLU6 (fused), so the 1-bit clamp mask is all backward needs.

The classifier is int8 (``head="int8"``) or kept in float (``head="float"``, as the
reference does: its input is the int8 pooled vector, its weights fp32).

Update modes (:func:`set_update_mode`, :func:`project_int8`), how the integer-unit weights
are stored between steps and what the forward pass sees:

* ``latent`` (the reference's): fp32 latent weights in integer units; the forward pass
  rounds them to the int8 / int32 grid (straight-through gradient), so the network that
  computes the loss is always a true int8 network while small updates accumulate;
* ``shadow``: fp32 latent weights, and the forward pass uses them *unrounded*, i.e. off
  the grid (a relaxation: the loss is that of a network the int8 engine cannot run);
* ``int8``: the weights are cast back to int8 / int32 after every optimizer step (true
  int8 storage, what the memory model counts), so updates below half a step are lost.
"""

from __future__ import annotations

from typing import Literal

import torch

from archlab.ondevice.int8ops import INT32, ActQ, LeanConv, QuantAct
from archlab.ondevice.nets import Net, TConv

__all__ = ["LeanConv", "QuantAct", "UpdateMode", "Head", "quantize", "project_int8", "set_update_mode",
           "int8_state", "quant_layers", "real_weight", "weight_scale", "calibrate"]

UpdateMode = Literal["latent", "shadow", "int8"]
UPDATE_MODES: tuple[str, ...] = ("latent", "shadow", "int8")
Head = Literal["float", "int8"]


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
def quantize(net: Net, calib: torch.Tensor, head: Head = "int8") -> Net:
    """The int8 graph of a BN-folded float ``net`` (a new network; ``net`` is unchanged).

    ``head="float"`` keeps the classifier's weights and bias in fp32 (the reference's choice).
    """
    if head not in ("float", "int8"):
        raise ValueError(f"unknown head {head!r}; allowed: float, int8")
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
    if head == "float":
        return q
    fc.s_w = weight_scale(fc.weight)
    fc.weight.copy_(torch.round(fc.weight / fc.s_w.view(-1, 1)).clamp(-127, 127))
    fc.bias.copy_(torch.round(fc.bias / (fc.s_w * fc.q_in.s)))
    return q


def _quantize_weights(c: TConv) -> None:
    c.s_w = weight_scale(c.weight)
    c.weight.copy_(torch.round(c.weight / c.s_w.view(-1, 1, 1, 1)).clamp(-127, 127))
    c.bias.copy_(torch.round(c.bias / (c.s_w * c.q_in.s)).clamp(-INT32, INT32))


def quant_layers(net: Net) -> list:
    """The quantized layers (convs, then the classifier when it is int8)."""
    return [*net.convs, net.fc] if net.fc.s_w is not None else list(net.convs)


def set_update_mode(net: Net, mode: UpdateMode) -> None:
    """Make the forward pass of ``net``'s int8 layers round their weights (``latent``, ``int8``)
    or use them as stored (``shadow``)."""
    if mode not in UPDATE_MODES:
        raise ValueError(f"unknown update mode {mode!r}; allowed: {', '.join(UPDATE_MODES)}")
    for layer in quant_layers(net):
        layer.round_w = mode != "shadow"


@torch.no_grad()
def project_int8(net: Net, mode: UpdateMode) -> None:
    """After an optimizer step: in ``int8`` mode cast weights back to int8 and biases to int32
    (``latent`` and ``shadow`` keep fp32 latent weights)."""
    if mode not in UPDATE_MODES:
        raise ValueError(f"unknown update mode {mode!r}; allowed: {', '.join(UPDATE_MODES)}")
    if mode != "int8":
        return
    for layer in quant_layers(net):
        layer.weight.copy_(torch.round(layer.weight).clamp_(-127, 127))
        layer.bias.copy_(torch.round(layer.bias).clamp_(-INT32, INT32))


def int8_state(net: Net) -> dict[str, torch.Tensor]:
    """Weights as true ``torch.int8`` and biases as ``torch.int32`` tensors; raises if off-grid."""
    out = {}
    for i, layer in enumerate(quant_layers(net)):
        w, b = layer.weight.detach(), layer.bias.detach()
        if not (torch.equal(w, torch.round(w)) and w.abs().max() <= 127 and torch.equal(b, torch.round(b))):
            raise ValueError(f"layer {i} is not on the int8/int32 grid (latent weights drifted)")
        out[f"{i}.weight"] = w.to(torch.int8)
        out[f"{i}.bias"] = b.to(torch.int32)
    return out


def real_weight(layer) -> torch.Tensor:
    """The real-valued weight of a (quantized or float) layer."""
    w = layer.weight.detach()
    if layer.s_w is None:
        return w
    return w * layer.s_w.view(-1, *([1] * (w.dim() - 1)))
