"""Sparse-update schemes: validation, frozen parts, partial channels, contribution search."""

import pytest
import torch
import torch.nn.functional as F
from archlab.ondevice.arch import arch
from archlab.ondevice.nets import Net
from archlab.ondevice.sparse import Contributions, Scheme, SchemeError, apply_scheme, evolve, last_k

A = arch("mbv2-w0.35")


@pytest.mark.parametrize("scheme, msg", [
    (Scheme(52), "n_bias=52 out of range"),
    (Scheme(25, (27, 30), (1.0,)), "2 weight indices but 1 ratios"),
    (Scheme(25, (51,), (1.0,)), "conv index 51 out of range"),
    (Scheme(25, (30,), (0.0,)), r"ratio 0.0 for conv 30 outside \(0, 1\]"),
    (Scheme(25, (30,), (1.5,)), "outside"),
    (Scheme(25, (30, 30), (1.0, 1.0)), "listed twice"),
    (Scheme(10, (30,), (1.0,)), "n_bias >= 21"),
])
def test_invalid_schemes(scheme, msg):
    with pytest.raises(SchemeError, match=msg):
        scheme.validate(A)


def test_apply_scheme_and_partial_channels():
    torch.manual_seed(0)
    a = arch("mbv2-w0.35", resolution=16)
    net = Net(a, 4, bn=False)
    s = Scheme(6, (45, 46, 47), (0.5, 0.25, 1.0))
    apply_scheme(net, s)
    trained = {c.spec.index for c in net.convs if c.weight.requires_grad or c.bias.requires_grad}
    assert trained == set(range(45, 51))
    assert net.fc.weight.requires_grad and net.first_trained_block() == 15
    x, y = torch.randn(8, 3, 16, 16), torch.randint(0, 4, (8,))
    F.cross_entropy(net(x), y).backward()
    assert all(p.grad is None for c in net.convs[:45] for p in (c.weight, c.bias))
    for i, d, k in ((45, 1, 28), (46, 0, 84)):  # pw1: 28 of 56 input channels; depthwise: 84 of 336
        w, g = net.convs[i].weight.detach(), net.convs[i].weight.grad
        norms = w.transpose(0, d).flatten(1).norm(dim=1)
        top = set(torch.argsort(norms, descending=True)[:k].tolist())  # the largest-magnitude channels
        assert net.convs[i].keep_idx.tolist() == sorted(top)
        trained = g.transpose(0, d).flatten(1).abs().sum(1) > 0
        assert set(torch.nonzero(trained).flatten().tolist()) <= top and trained.sum() > 0
    assert net.convs[47].weight.grad.abs().min() >= 0 and net.convs[48].weight.grad is None


def test_evolve_respects_budget_and_maximises_prediction():
    a = arch("mbv2-w0.35")
    c = Contributions(0.5, {0: 0.0, 6: 0.05, 12: 0.08, 25: 0.1},
                      {(45, 1.0): 0.05, (45, 0.25): 0.03, (48, 1.0): 0.04, (50, 1.0): 0.02, (39, 1.0): 0.06},
                      25)
    from archlab.ondevice.memory import extra_memory

    def mem(s):
        return extra_memory(a, s)["extra_memory_kb"]
    for budget in (20.0, 60.0, 200.0):
        best, gain = evolve(a, c, mem, budget, seed=3, population=24, generations=30)
        assert mem(best) <= budget and gain == pytest.approx(c.predict(best))
        assert evolve(a, c, mem, budget, seed=3, population=24, generations=30)[0] == best  # seeded
    big, big_gain = evolve(a, c, mem, 1e6, seed=0, population=24, generations=40)
    assert big_gain == pytest.approx(0.1 + 0.05 + 0.04 + 0.02 + 0.06)
    assert mem(last_k(a, 6)) > 0
