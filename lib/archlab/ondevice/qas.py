"""Quantization-Aware Scaling (QAS, Lin et al. 2022) and gradient/weight ratio diagnostics.

With integer weights ``w = W / s_W``, the gradient w.r.t. the integer tensor is
``s_W * G_W``, so ``||w|| / ||g_w|| = ||W|| / ||G_W|| / s_W^2``: the quantized graph's
weight-to-gradient ratio is off by ``s_W^-2`` (and by ``(s_W s_x)^-2`` for the int32
bias). QAS multiplies each gradient by ``s^-2`` per output channel, which restores the
fp32 ratio; with scales fixed, an SGD(-momentum) step on the integers then equals a plain
SGD step on the real-valued weights.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from archlab.ondevice.nets import Net
from archlab.ondevice.quant import quant_layers


def qas_scales(net: Net) -> dict[nn.Parameter, torch.Tensor]:
    """Per-parameter gradient scale factors ``s^-2`` (broadcastable to the parameter); 1 for a
    float classifier head."""
    out: dict[nn.Parameter, torch.Tensor] = {}
    for layer in quant_layers(net):
        if layer.s_w is None:
            raise ValueError("QAS needs the quantized graph (archlab.ondevice.quant.quantize)")
        sw = layer.s_w.detach()
        out[layer.weight] = sw.view(-1, *([1] * (layer.weight.dim() - 1))).pow(-2)
        out[layer.bias] = (sw * layer.q_in.s).pow(-2)
    if net.fc.s_w is None:  # float classifier head: its gradients are already in real units
        out[net.fc.weight] = torch.ones(())
        out[net.fc.bias] = torch.ones(())
    return out


class QAS(torch.optim.SGD):
    """SGD / SGD-momentum whose gradients are scaled by ``s_W^-2`` (weights) and
    ``(s_W s_x)^-2`` (biases) per output channel before the usual update."""

    def __init__(self, params: Iterable[nn.Parameter], scales: dict[nn.Parameter, torch.Tensor],
                 lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        params = list(params)
        missing = [i for i, p in enumerate(params) if p not in scales]
        if missing:
            raise ValueError(f"QAS: no scale for parameter(s) {missing}; build scales with qas_scales(net)")
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.scales = scales

    @torch.no_grad()
    def step(self, closure=None):  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad.mul_(self.scales[p])
        return super().step(closure)


def layer_ratios(net: Net, scales: dict[nn.Parameter, torch.Tensor] | None = None) -> list[float]:
    """Per-layer ``||W|| / ||G||`` of the weights (after a backward); ``scales`` applies QAS."""
    out = []
    for layer in quant_layers(net):
        w, g = layer.weight.detach(), layer.weight.grad
        if g is None:
            out.append(float("nan"))
            continue
        if scales is not None:
            g = g * scales[layer.weight]
        out.append(float(w.norm() / g.norm().clamp_min(1e-30)))
    return out
