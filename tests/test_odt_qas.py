"""QAS: equals SGD on real weights with scales fixed; restores the fp32 ||W||/||G|| ratios."""

import numpy as np
import torch
import torch.nn.functional as F
from archlab.ondevice.arch import arch
from archlab.ondevice.nets import ActQ, Net, fold_bn
from archlab.ondevice.qas import QAS, layer_ratios, qas_scales
from archlab.ondevice.quant import LeanConv, QuantAct, quantize
from archlab.ondevice.sparse import apply_scheme, full


def test_qas_on_integers_equals_sgd_on_real_weights():
    torch.manual_seed(0)
    spec = arch("mbv2-w0.35", resolution=16).convs[5]  # pointwise 48 -> 8
    q_in = ActQ.from_range(0.0, 6.0, relu6=True)
    q_out = ActQ.from_range(-4.0, 4.0, relu6=False)
    x = QuantAct.apply(torch.rand(8, spec.cin, spec.in_hw, spec.in_hw) * 6, q_in)
    target = torch.randn(8, spec.cout, spec.out_hw, spec.out_hw)
    s_w = torch.rand(spec.cout) * 0.02 + 0.005
    w_int = torch.randint(-127, 128, (spec.cout, spec.cin, 1, 1)).float().requires_grad_(True)
    b_int = torch.randint(-2000, 2000, (spec.cout,)).float().requires_grad_(True)
    w_real = (w_int.detach() * s_w.view(-1, 1, 1, 1)).clone().requires_grad_(True)
    b_real = (b_int.detach() * s_w * q_in.s).clone().requires_grad_(True)
    opt_q = QAS([w_int, b_int], {w_int: s_w.view(-1, 1, 1, 1) ** -2, b_int: (s_w * q_in.s) ** -2}, lr=0.05,
                momentum=0.9)
    opt_r = torch.optim.SGD([w_real, b_real], lr=0.05, momentum=0.9)
    for _ in range(5):
        for opt, y in ((opt_q, lambda: LeanConv.apply(x, w_int, b_int, s_w, q_in, spec, None)),
                       (opt_r, lambda: F.conv2d(x, w_real, b_real))):
            opt.zero_grad()
            F.mse_loss(QuantAct.apply(y(), q_out), target).backward()
            opt.step()
    assert torch.allclose(w_int.detach() * s_w.view(-1, 1, 1, 1), w_real.detach(), rtol=1e-4, atol=1e-6)
    assert torch.allclose(b_int.detach() * s_w * q_in.s, b_real.detach(), rtol=1e-4, atol=1e-6)


def test_ratios_come_back_in_line_with_fp32():
    torch.manual_seed(0)
    n = Net(arch("proxyless-w0.3", resolution=16, depth=0.5), 5)
    x, y = torch.randn(32, 3, 16, 16), torch.randint(0, 5, (32,))
    n.train()
    with torch.no_grad():
        n(x)
    n.eval()
    f = apply_scheme(fold_bn(n), full(n.arch))
    q = apply_scheme(quantize(f, x), full(n.arch))
    F.cross_entropy(f(x), y).backward()
    F.cross_entropy(q(x), y).backward()
    fp = np.log10([float(m.weight.detach().norm() / m.weight.grad.norm()) for m in [*f.convs, f.fc]])
    raw = np.log10(layer_ratios(q))
    qas = np.log10(layer_ratios(q, qas_scales(q)))
    assert np.median(np.abs(raw - fp)) > 2  # orders of magnitude off without QAS
    assert np.median(np.abs(qas - fp)) < 0.3  # in line after QAS
