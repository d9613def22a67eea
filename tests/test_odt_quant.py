"""int8 graph: BN folding, per-channel int8 weights, fused ReLU6, STE, lean backward, update modes."""

import torch
import torch.nn.functional as F
from archlab.ondevice.arch import arch
from archlab.ondevice.nets import ActQ, Net, fold_bn
from archlab.ondevice.quant import (
    LeanConv,
    QuantAct,
    int8_state,
    project_int8,
    quantize,
    real_weight,
    set_update_mode,
)
from archlab.ondevice.sparse import Scheme, apply_scheme, bias_only, full


def _nets(res=16, seed=0):
    torch.manual_seed(seed)
    n = Net(arch("mbv2-w0.35", resolution=res), 5)
    x = torch.randn(32, 3, res, res)
    n.train()
    with torch.no_grad():
        n(x)
    n.eval()
    f = fold_bn(n)
    return n, f, quantize(f, x), x


def test_fold_and_quantize():
    n, f, q, x = _nets()
    with torch.no_grad():
        assert torch.allclose(n(x), f(x), atol=1e-4)
        err = (q(x) - f(x)).abs().max() / f(x).abs().max()
    assert err < 0.1
    st = int8_state(q)
    assert st["0.weight"].dtype == torch.int8 and st["0.bias"].dtype == torch.int32
    for c in q.convs:
        w = c.weight.detach()
        assert torch.equal(w, w.round()) and w.abs().max() <= 127
        assert c.s_w.shape == (c.spec.cout,)
        assert (w.flatten(1).abs().amax(1) == 127).all()  # symmetric per channel: max maps to 127
        assert torch.allclose(real_weight(c), f.convs[c.spec.index].weight.detach(), atol=c.s_w.max() / 2 + 1e-7)


def test_relu6_fused_into_clamp():
    q = ActQ.from_range(-1.0, 9.0, relu6=True)
    y = torch.linspace(-3, 10, 200, requires_grad=True)
    out = QuantAct.apply(y, q)
    assert out.min() >= 0 and out.max() <= 6 + q.s
    out.sum().backward()
    inside = (y > q.s) & (y < 6 - q.s)
    assert torch.all(y.grad[inside] == 1)  # straight-through inside the clamp
    assert torch.all(y.grad[(y < -q.s) | (y > 6 + q.s)] == 0)


def test_lean_conv_grads_match_autograd_reference():
    torch.manual_seed(1)
    _, _, qnet, x = _nets()
    for idx in (3, 4, 5):  # pw1, dw, pw2
        c = qnet.convs[idx]
        xin = qnet.prefix(x[:4], c.spec.block)
        if c.spec.role != "pw1":
            xin = QuantAct.apply(torch.randn(4, c.spec.cin, c.spec.in_hw, c.spec.in_hw), c.q_in)
        d = 1 if c.spec.groups == 1 else 0
        for idx_t in (None, torch.tensor([1, 3])):  # all channels; two non-leading channels
            xa = xin.clone().requires_grad_(True)
            w = c.weight.detach().clone().requires_grad_(True)
            b = c.bias.detach().clone().requires_grad_(True)
            g = torch.randn(4, c.spec.cout, c.spec.out_hw, c.spec.out_hw)
            (LeanConv.apply(xa, w, b, c.s_w, c.q_in, c.spec, idx_t) * g).sum().backward()
            xr = xin.clone().requires_grad_(True)
            wr = c.weight.detach().clone().requires_grad_(True)
            br = c.bias.detach().clone().requires_grad_(True)
            y = F.conv2d(xr, wr * c.s_w.view(-1, 1, 1, 1), br * c.s_w * c.q_in.s, c.spec.stride, c.spec.k // 2,
                         1, c.spec.groups)
            (y * g).sum().backward()
            assert torch.allclose(xa.grad, xr.grad, atol=1e-5)
            assert torch.allclose(b.grad, br.grad, rtol=1e-4, atol=1e-8)
            kept = torch.arange(w.shape[d]) if idx_t is None else idx_t
            frozen = torch.tensor([i for i in range(w.shape[d]) if i not in set(kept.tolist())], dtype=torch.long)
            assert torch.allclose(w.grad.index_select(d, kept), wr.grad.index_select(d, kept), rtol=1e-3, atol=1e-7)
            assert torch.all(w.grad.index_select(d, frozen) == 0)


def _saved_bytes(net, x):
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = (t.untyped_storage().nbytes(), t.dtype, t.dim())
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        net(x).sum()
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    return {k: v for k, v in seen.items() if k not in params}


def test_frozen_parts_keep_no_activations():
    _, f, q, x = _nets()
    a = q.arch
    apply_scheme(q, bias_only(a, 6))
    saved = _saved_bytes(q, x[:2])
    # bias-only: only bool masks (and scales) are kept, no activations, nothing before conv 45
    assert not any(dt == torch.int8 for _, dt, _ in saved.values())
    assert not any(dt == torch.float32 and dim == 4 for _, dt, dim in saved.values())  # no activations
    apply_scheme(q, Scheme(6, (47,), (1.0,)))
    assert any(dt == torch.int8 for _, dt, _ in _saved_bytes(q, x[:2]).values())  # the int8 input of conv 47
    apply_scheme(q, full(a))
    assert sum(v[0] for v in _saved_bytes(q, x[:2]).values()) > 5 * sum(v[0] for v in saved.values())


def test_update_modes():
    _, _, q, x = _nets()
    apply_scheme(q, full(q.arch))
    before = [p.detach().clone() for p in q.parameters()]
    opt = torch.optim.SGD(q.params_of(), lr=1e-6)  # far below half an integer step
    F.cross_entropy(q(x[:8]), torch.zeros(8, dtype=torch.long)).backward()
    opt.step()
    latent = [p.detach().clone() for p in q.parameters()]
    assert any(not torch.equal(a, b) for a, b in zip(before, latent))  # fp32 latent weights moved
    for m in ("latent", "shadow"):
        project_int8(q, m)  # keep the latent weights
        assert all(torch.equal(a, b) for a, b in zip(latent, q.parameters()))
    set_update_mode(q, "latent")
    out0 = q(x[:8]).detach()
    with torch.no_grad():
        for p in q.parameters():
            p.add_(0.3)  # latent weights off the grid by less than half a step
    assert torch.equal(out0, q(x[:8]).detach())  # latent: the forward pass rounds them back
    set_update_mode(q, "shadow")
    assert not torch.equal(out0, q(x[:8]).detach())  # shadow: the forward pass uses them off-grid
    with torch.no_grad():
        for p, b in zip(q.parameters(), latent):
            p.copy_(b)
    project_int8(q, "int8")
    assert all(torch.equal(a, b) for a, b in zip(before, q.parameters()))  # update lost on the int8 grid
    int8_state(q)
