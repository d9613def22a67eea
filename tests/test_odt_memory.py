"""Memory model: analytic extra memory, schedule-level peak vs measured PyTorch, MACs, CLI."""

import json

import pytest
import torch
from archlab.cli import _mount_groups, app
from archlab.ondevice.arch import MODELS, arch
from archlab.ondevice.memory import extra_memory, measure_step, schedule_peak, step_peak_kib, train_macs
from archlab.ondevice.nets import Net, kept_channels
from archlab.ondevice.sparse import Scheme, apply_scheme, bias_only, full
from typer.testing import CliRunner

_mount_groups()
runner = CliRunner()


def test_extra_memory_by_hand():
    a = arch("mbv2-w0.35")
    # last conv only: pw2 336->112 at 4x4: mask 112*16 bits, 112 int32 biases, classifier input 112 B
    assert extra_memory(a, Scheme(1))["extra_memory_kb"] == pytest.approx((112 * 16 / 8 + 4 * 112 + 112) / 1024)
    s = Scheme(25, (27, 30, 33), (1.0, 1.0, 0.5))
    total = a.feat_dim
    for c in a.convs[26:]:
        total += c.out_elems / 8 + 4 * c.cout
    for i, r in zip(s.weights, s.ratios):
        c = a.convs[i]
        keep = kept_channels(c, r)
        n_split = c.cout if c.groups > 1 else c.cin
        total += keep * c.in_hw**2 + c.weight_elems * keep / n_split
    r = extra_memory(a, s)
    assert r["extra_memory_kb"] == pytest.approx(total / 1024)
    assert r["extra_memory_kb"] == pytest.approx(sum(r["breakdown_kb"].values()))
    assert r["breakdown_kb"]["input_activations"] == pytest.approx((24 * 64 + 24 * 64 + 16 * 64) / 1024)


@pytest.mark.slow
def test_schedule_model_orders_and_matches_pytorch():
    a = arch("mbv2-w0.35", resolution=32)
    sp = Scheme(12, (42, 45, 48), (1.0, 1.0, 0.5))
    fw_full, fw_sp = schedule_peak(a, full(a), "framework"), schedule_peak(a, sp, "framework")
    te_full, te_sp = schedule_peak(a, full(a), "tte"), schedule_peak(a, sp, "tte")
    assert te_sp["peak_B"] < te_full["peak_B"] < fw_full["peak_B"] and te_sp["peak_B"] < fw_sp["peak_B"]
    assert schedule_peak(a, bias_only(a, 6), "tte")["saved_B"] < te_sp["saved_B"]
    torch.manual_seed(0)
    net = Net(a, 10, bn=False)
    x, y = torch.randn(1, 3, 32, 32), torch.tensor([3])
    for s, model in ((full(a), fw_full), (sp, fw_sp)):
        m = measure_step(apply_scheme(net, s), x, y)
        assert m["saved_B"] == pytest.approx(model["saved_B"], rel=0.05)
        assert 0.8 < m["peak_B"] / model["peak_B"] < 1.5


def test_train_macs():
    a = arch("mcunet-5fps")
    f, b = train_macs(a, full(a)), train_macs(a, bias_only(a))
    assert f["forward"] == b["forward"] and f["backward_weight"] == f["forward"]
    assert b["backward_weight"] == a.feat_dim * 10 and b["backward_input"] == f["backward_input"]


@pytest.mark.parametrize("model", MODELS)
def test_cli_memory_all_backbones(model):
    n_bias = arch(model).n_convs - 26  # biases of convs 26.. (mbv2-w0.35: 25, as in the paper's example)
    r = runner.invoke(app, ["odt", "memory", "--model", model, "--n-bias", str(n_bias), "--weights", "27,30,33",
                            "--ratios", "1,1,0.5", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    want = extra_memory(arch(model), Scheme(n_bias, (27, 30, 33), (1, 1, 0.5)))["extra_memory_kb"]
    assert out["extra_memory_kb"] == pytest.approx(want) and out["extra_memory_kb"] > 0
    assert set(out["breakdown_kb"]) >= {"relu_masks", "biases", "input_activations", "weight_copies"}


@pytest.mark.parametrize("args, msg", [
    (["--n-bias", "25", "--weights", "27,99", "--ratios", "1,1"], "conv index 99 out of range"),
    (["--n-bias", "25", "--weights", "27", "--ratios", "1.5"], "outside (0, 1]"),
    (["--n-bias", "25", "--weights", "27,30", "--ratios", "1"], "2 weight indices but 1 ratios"),
    (["--n-bias", "99"], "n_bias=99 out of range"),
    (["--n-bias", "5", "--weights", "a,b", "--ratios", "1,1"], "expected comma-separated integers"),
    (["--model", "resnet", "--n-bias", "5"], "unknown model"),
])
def test_cli_rejects_invalid_schemes(args, msg):
    r = runner.invoke(app, ["odt", "memory", *args])
    assert r.exit_code != 0
    assert msg in r.output


def test_input_image_as_a_live_buffer():
    a = arch("mbv2-w0.35", resolution=128)
    s = Scheme(0)
    resident = schedule_peak(a, s)["peak_B"] / 1024 + 3 * 128 * 128 / 1024  # the second edition's accounting
    assert resident == pytest.approx(288.0)
    # live: the 48 KiB int8 image is freed after conv 0; the peak is pw1 -> dw at 64x64 (192 + 48 KiB)
    assert step_peak_kib(a, s) == pytest.approx(240.0)
    assert schedule_peak(a, s, input_live=True)["peak_B"] / 1024 == pytest.approx(240.0)
    # a scheme whose backward pass reaches the 64x64 stage: live accounting is never above resident
    s51 = bias_only(a)
    assert 256 < step_peak_kib(a, s51) <= schedule_peak(a, s51)["peak_B"] / 1024 + 48
