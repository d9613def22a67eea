"""Fine-tuning loops on real offline data: int8 modes, QAS, reduced precision with loss scaling."""

import pytest
import torch
from archlab.ondevice.data import load, transfer_tasks
from archlab.ondevice.quant import int8_state
from archlab.ondevice.sparse import Scheme, last_k
from archlab.ondevice.train import finetune, int8_net, pretrain, setup_torch, transfer_net


@pytest.fixture(scope="module")
def setting():
    setup_torch(1, 0)
    pre_c, ft_c = transfer_tasks("new_classes")
    pre_data = load("mnist5k", pre_c, 16, 64, 32, 0)
    net, accs = pretrain("mbv2-w0.35", 1.0, 16, 0.5, pre_data, 1, 32, 3e-3, 0)
    data = load("digits", ft_c, 16, 48, 48, 1)
    assert data.x_train.shape == (48, 3, 16, 16) and set(data.y_train.tolist()) <= set(range(5))
    f = transfer_net(net, data.n_classes, 0)
    return f, int8_net(f, data), data


def test_int8_true_storage_stays_on_grid(setting):
    f, q, data = setting
    s = last_k(q.arch, 6)
    r = finetune(q, data, s, qas=True, mode="int8", epochs=1, batch=16)
    assert 0 <= r["acc"] <= 1 and r["steps"] == 3
    int8_state(r["net"])  # raises if any weight left the int8 grid
    shadow = finetune(q, data, s, qas=True, mode="shadow", epochs=1, batch=16)["net"]
    with pytest.raises(ValueError, match="not on the int8"):
        int8_state(shadow)


def test_same_seed_same_result(setting):
    f, q, data = setting
    a = finetune(q, data, Scheme(4), qas=True, epochs=1, batch=16, seed=3)
    b = finetune(q, data, Scheme(4), qas=True, epochs=1, batch=16, seed=3)
    assert a["acc"] == b["acc"] and a["final_loss"] == b["final_loss"]


def test_fp16_loss_scaling_skips_overflow(setting):
    f, _, data = setting
    r = finetune(f, data, last_k(f.arch, 4), precision="fp16", loss_scale=2.0**40, epochs=1, batch=16)
    assert r["skipped"] > 0 and r["loss_scale"] < 2.0**40
    b = finetune(f, data, last_k(f.arch, 4), precision="bf16", epochs=1, batch=16)
    assert 0 <= b["acc"] <= 1 and b["skipped"] == 0
    with pytest.raises(ValueError, match="QAS is defined"):
        finetune(setting[1], data, Scheme(2), opt="adam", qas=True)
    assert torch.get_num_threads() == 1
