"""Fine-tuning loops on real offline data: update modes, QAS, reduced precision, sealed test split."""

import numpy as np
import pytest
import torch
from archlab.ondevice.data import SealedTest, TestSealedError, load, splits, transfer_tasks
from archlab.ondevice.quant import int8_state
from archlab.ondevice.sparse import Scheme, last_k
from archlab.ondevice.train import finetune, int8_net, pretrain, setup_torch, transfer_net


@pytest.fixture(scope="module")
def setting():
    setup_torch(1, 0)
    pre_c, ft_c = transfer_tasks("new_classes")
    pre_data = load("mnist5k", pre_c, 16, 64, 32, 0)
    net, accs = pretrain("mbv2-w0.35", 1.0, 16, 0.5, pre_data, 1, 32, 3e-3, 0)
    data = splits("digits", ft_c, 16, 48, 24, 24, 1)
    assert data.x_train.shape == (48, 3, 16, 16) and set(data.y_train.tolist()) <= set(range(5))
    f = transfer_net(net, data.n_classes, 0)
    return f, int8_net(f, data.x_train, head="int8"), data


def test_splits_are_disjoint_stratified_and_test_is_sealed():
    s = splits("digits", (5, 6, 7, 8, 9), 8, 100, 50, 60, 3)
    with pytest.raises(TestSealedError, match="before the final evaluation"):
        s.test.read("early")
    assert s.test.reads == []
    s.test.unseal()
    x, y, raw = s.test.read("final")
    assert s.test.reads == ["final"] and len(y) == 60 and x.shape == (60, 3, 8, 8)
    assert np.bincount(s.y_train.numpy()).min() >= 19  # stratified: 20 per class
    assert isinstance(s.test, SealedTest)


def test_int8_true_storage_stays_on_grid(setting):
    f, q, data = setting
    s = last_k(q.arch, 6)
    r = finetune(q, data.x_train, data.y_train, s, qas=True, mode="int8", epochs=1, batch=16)
    assert r.stats["steps"] == 3 and 0 <= r.accuracy(data.x_val, data.y_val) <= 1
    int8_state(r.net)  # raises if any weight left the int8 grid
    for mode in ("latent", "shadow"):  # fp32 latent weights drift off the grid
        net = finetune(q, data.x_train, data.y_train, s, qas=True, mode=mode, epochs=1, batch=16).net
        with pytest.raises(ValueError, match="not on the int8"):
            int8_state(net)


def test_same_seed_same_result_and_cosine_schedule(setting):
    f, q, data = setting
    a = finetune(q, data.x_train, data.y_train, Scheme(4), qas=True, epochs=2, batch=16, seed=3)
    b = finetune(q, data.x_train, data.y_train, Scheme(4), qas=True, epochs=2, batch=16, seed=3)
    assert np.array_equal(a.correct(data.x_val, data.y_val), b.correct(data.x_val, data.y_val))
    assert a.stats["final_loss"] == b.stats["final_loss"]
    c = finetune(q, data.x_train, data.y_train, Scheme(4), qas=True, epochs=2, batch=16, seed=3, schedule="constant")
    assert c.stats["final_loss"] != a.stats["final_loss"]


def test_fp16_loss_scaling_skips_overflow(setting):
    f, _, data = setting
    r = finetune(f, data.x_train, data.y_train, last_k(f.arch, 4), precision="fp16", loss_scale=2.0**40,
                 epochs=1, batch=16)
    assert r.stats["skipped"] > 0 and r.stats["loss_scale"] < 2.0**40
    b = finetune(f, data.x_train, data.y_train, last_k(f.arch, 4), precision="bf16", epochs=1, batch=16)
    assert 0 <= b.accuracy(data.x_val, data.y_val) <= 1 and b.stats["skipped"] == 0
    with pytest.raises(ValueError, match="QAS is defined"):
        finetune(setting[1], data.x_train, data.y_train, Scheme(2), opt="adam", qas=True)
    assert torch.get_num_threads() == 1


def test_float_head_is_not_quantized(setting):
    f, _, data = setting
    q = int8_net(f, data.x_train, head="float")
    assert q.fc.s_w is None and q.convs[0].s_w is not None
    from archlab.ondevice.qas import qas_scales

    sc = qas_scales(q)
    assert float(sc[q.fc.weight]) == 1.0 and float(sc[q.fc.bias]) == 1.0
    r = finetune(q, data.x_train, data.y_train, Scheme(3), qas=True, mode="int8", epochs=1, batch=16)
    int8_state(r.net)  # convs on the grid; the float head is not checked
